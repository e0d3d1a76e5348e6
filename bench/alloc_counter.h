// Heap allocation counting for the benchmarks: the global operator new is replaced to count calls.
#ifndef SELLERFLOW_BENCH_ALLOC_COUNTER_H_
#define SELLERFLOW_BENCH_ALLOC_COUNTER_H_

#include <cstdint>

namespace sellerflow::bench {

// Calls of any form of the global operator new (the library's included) since the process started.
uint64_t AllocationCount();

}  // namespace sellerflow::bench

#endif  // SELLERFLOW_BENCH_ALLOC_COUNTER_H_
