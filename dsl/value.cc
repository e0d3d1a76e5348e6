// Run-time values: the arena they live in, their builders, equality, ordering and JSON text.
#include "dsl/value.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "dsl/utf8.h"

namespace sellerflow::dsl {

struct Arena::Block {
  Block* next;
  size_t size;  // Usable bytes after the header.
  size_t used;
  alignas(std::max_align_t) unsigned char data[];
};

Arena::Arena(size_t block_size) : block_size_(block_size < 256 ? 256 : block_size) {}

Arena::~Arena() {
  Block* b = head_;
  while (b != nullptr) {
    Block* next = b->next;
    std::free(b);
    b = next;
  }
}

void* Arena::Allocate(size_t bytes, size_t align) {
  if (bytes > limit_ - used_) throw ArenaLimitReached{limit_};
  if (align == 0 || (align & (align - 1)) != 0) align = alignof(std::max_align_t);
  // Alignment is of the address itself, so over-aligned requests work too.
  auto padding = [align](const Block* b) {
    uintptr_t at = reinterpret_cast<uintptr_t>(b->data) + b->used;
    return static_cast<size_t>(((at + align - 1) & ~(static_cast<uintptr_t>(align) - 1)) - at);
  };
  if (head_ != nullptr) {
    size_t pad = padding(head_);
    if (pad <= head_->size - head_->used && bytes <= head_->size - head_->used - pad) {
      void* p = head_->data + head_->used + pad;
      head_->used += pad + bytes;
      used_ += bytes;
      return p;
    }
  }
  // A request bigger than a block gets a block of its own, with room for the alignment.
  size_t need = bytes + align;
  size_t size = need > block_size_ ? need : block_size_;
  void* raw = std::malloc(offsetof(Block, data) + size);
  if (raw == nullptr)
    throw std::bad_alloc();  // As operator new would: there is no status to return.
  Block* b = static_cast<Block*>(raw);
  b->size = size;
  b->used = 0;
  b->next = head_;
  head_ = b;
  if (first_ == nullptr) first_ = b;
  size_t pad = padding(b);
  void* p = b->data + pad;
  b->used = pad + bytes;
  used_ += bytes;
  return p;
}

void Arena::Reset() {
  Block* b = head_;
  while (b != nullptr && b != first_) {
    Block* next = b->next;
    std::free(b);
    b = next;
  }
  head_ = first_;
  if (first_ != nullptr) {
    first_->used = 0;
    first_->next = nullptr;
  }
  used_ = 0;
}

const StringRep* MakeString(Arena& arena, std::string_view utf8) {
  void* mem = arena.Allocate(sizeof(StringRep) + utf8.size(), alignof(StringRep));
  StringRep* s = static_cast<StringRep*>(mem);
  s->bytes = static_cast<uint32_t>(utf8.size());
  s->code_points = static_cast<uint32_t>(CountCodePoints(utf8));
  if (!utf8.empty()) std::memcpy(s->data, utf8.data(), utf8.size());
  return s;
}

Value StringValue(Arena& arena, std::string_view utf8) {
  return Value::Str(MakeString(arena, utf8));
}

Value ErrorValue(Arena& arena, ErrorKind kind, SourcePos pos, std::string_view message) {
  void* mem = arena.Allocate(sizeof(ErrorRep) + message.size(), alignof(ErrorRep));
  ErrorRep* e = static_cast<ErrorRep*>(mem);
  e->kind = kind;
  e->pos = pos;
  e->message_bytes = static_cast<uint32_t>(message.size());
  if (!message.empty()) std::memcpy(e->message, message.data(), message.size());
  return Value::Err(e);
}

ListRep* MakeList(Arena& arena, uint32_t size) {
  ListRep* l = static_cast<ListRep*>(arena.Allocate(sizeof(ListRep), alignof(ListRep)));
  l->size = size;
  l->items = size == 0 ? nullptr : arena.AllocateArray<Value>(size);
  for (uint32_t i = 0; i < size; ++i) new (&l->items[i]) Value();
  return l;
}

MapRep* MakeMap(Arena& arena, std::vector<MapEntry> entries) {
  auto key_less = [](const MapEntry& a, const MapEntry& b) { return a.key.str() < b.key.str(); };
  std::stable_sort(entries.begin(), entries.end(), key_less);
  // Of equal keys, stable sorting keeps input order, so the last of each run is the one to keep.
  size_t kept = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].key.str() == entries[i].key.str()) continue;
    entries[kept++] = entries[i];
  }
  MapRep* m = static_cast<MapRep*>(arena.Allocate(sizeof(MapRep), alignof(MapRep)));
  m->size = static_cast<uint32_t>(kept);
  m->entries = kept == 0 ? nullptr : arena.AllocateArray<MapEntry>(kept);
  for (size_t i = 0; i < kept; ++i) new (&m->entries[i]) MapEntry(entries[i]);
  return m;
}

ObjectRep* MakeObject(Arena& arena, const Type* type) {
  ObjectRep* o = static_cast<ObjectRep*>(arena.Allocate(sizeof(ObjectRep), alignof(ObjectRep)));
  o->type = type;
  size_t n = type == nullptr ? 0 : type->fields().size();
  o->slots = n == 0 ? nullptr : arena.AllocateArray<Value>(n);
  Value absent = AbsentSlot();
  for (size_t i = 0; i < n; ++i) new (&o->slots[i]) Value(absent);
  return o;
}

Value AbsentSlot() {
  // Shared by every empty slot; it is never written, so sharing it across threads is safe.
  static const ErrorRep kAbsent = {ErrorKind::kAbsent, SourcePos{}, 0};
  return Value::Err(&kAbsent);
}

const Value* MapFind(const MapRep& map, std::string_view key) {
  size_t lo = 0, hi = map.size;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    std::string_view k = map.entries[mid].key.str();
    if (k < key) {
      lo = mid + 1;
    } else if (key < k) {
      hi = mid;
    } else {
      return &map.entries[mid].value;
    }
  }
  return nullptr;
}

namespace {

bool IsNumber(const Value& v) { return v.kind == ValueKind::kInt || v.kind == ValueKind::kDecimal; }

Decimal AsDecimal(const Value& v) {
  return v.kind == ValueKind::kInt ? DecimalFromInt(v.i) : v.dec();
}

size_t SlotCount(const ObjectRep& o) { return o.type == nullptr ? 0 : o.type->fields().size(); }

// Objects of different declared types are equal when they have the same fields present with
// equal values; absent fields are simply not there on either side.
bool ObjectsEqual(const ObjectRep& a, const ObjectRep& b) {
  if (a.type == b.type) {
    for (size_t i = 0; i < SlotCount(a); ++i) {
      bool pa = a.slots[i].is_absent();
      bool pb = b.slots[i].is_absent();
      if (pa != pb) return false;
      if (!pa && !ValuesEqual(a.slots[i], b.slots[i])) return false;
    }
    return true;
  }
  size_t present_b = 0;
  for (size_t i = 0; i < SlotCount(b); ++i) {
    if (!b.slots[i].is_absent()) ++present_b;
  }
  size_t present_a = 0;
  for (size_t i = 0; i < SlotCount(a); ++i) {
    if (a.slots[i].is_absent()) continue;
    ++present_a;
    int j = b.type->FieldIndex(a.type->fields()[i].name);
    if (j < 0 || b.slots[j].is_absent() || !ValuesEqual(a.slots[i], b.slots[j])) return false;
  }
  return present_a == present_b;
}

}  // namespace

bool ValuesEqual(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    if (a.kind == ValueKind::kInt && b.kind == ValueKind::kInt) return a.i == b.i;
    return DecimalCompare(AsDecimal(a), AsDecimal(b)) == 0;
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ValueKind::kNull:
      return true;
    case ValueKind::kBool:
      return a.b == b.b;
    case ValueKind::kInt:
    case ValueKind::kDecimal:
      return false;  // Handled above.
    case ValueKind::kString:
      return a.str() == b.str();
    case ValueKind::kDate:
      return a.date == b.date;
    case ValueKind::kTimestamp:
      return a.ts == b.ts;
    case ValueKind::kDuration:
      // P1M and P30D are different spans; only identical parts are equal.
      return a.dur().months == b.dur().months && a.dur().micros == b.dur().micros;
    case ValueKind::kList:
      if (a.list->size != b.list->size) return false;
      for (uint32_t i = 0; i < a.list->size; ++i) {
        if (!ValuesEqual(a.list->items[i], b.list->items[i])) return false;
      }
      return true;
    case ValueKind::kMap:
      if (a.map->size != b.map->size) return false;
      for (uint32_t i = 0; i < a.map->size; ++i) {
        if (a.map->entries[i].key.str() != b.map->entries[i].key.str()) return false;
        if (!ValuesEqual(a.map->entries[i].value, b.map->entries[i].value)) return false;
      }
      return true;
    case ValueKind::kObject:
      return ObjectsEqual(*a.obj, *b.obj);
    case ValueKind::kError:
      return false;
  }
  return false;
}

int CompareValues(const Value& a, const Value& b, bool* comparable) {
  *comparable = true;
  auto order = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (IsNumber(a) && IsNumber(b)) {
    if (a.kind == ValueKind::kInt && b.kind == ValueKind::kInt) return order(a.i, b.i);
    return DecimalCompare(AsDecimal(a), AsDecimal(b));
  }
  if (a.kind != b.kind) {
    *comparable = false;
    return 0;
  }
  switch (a.kind) {
    case ValueKind::kNull:
      return 0;
    case ValueKind::kBool:
      return order(a.b, b.b);
    case ValueKind::kString:
      // Byte order of UTF-8 is code point order.
      return order(a.str(), b.str());
    case ValueKind::kDate:
      return order(a.date, b.date);
    case ValueKind::kTimestamp:
      return order(a.ts, b.ts);
    case ValueKind::kDuration: {
      int r = 0;
      if (!CompareDurations(a.dur(), b.dur(), &r)) {
        *comparable = false;
        return 0;
      }
      return r;
    }
    case ValueKind::kList: {
      uint32_t n = std::min(a.list->size, b.list->size);
      for (uint32_t i = 0; i < n; ++i) {
        int r = CompareValues(a.list->items[i], b.list->items[i], comparable);
        if (!*comparable) return 0;
        if (r != 0) return r;
      }
      return order(a.list->size, b.list->size);
    }
    default:
      // Maps, objects and errors have no order.
      *comparable = false;
      return 0;
  }
}

void AppendJson(const Value& v, std::string* out) {
  switch (v.kind) {
    case ValueKind::kNull:
      *out += "null";
      return;
    case ValueKind::kBool:
      *out += v.b ? "true" : "false";
      return;
    case ValueKind::kInt:
      *out += std::to_string(v.i);
      return;
    case ValueKind::kDecimal:
      AppendDecimal(v.dec(), out);
      return;
    case ValueKind::kString:
      AppendJsonString(v.str(), out);
      return;
    case ValueKind::kDate:
      AppendJsonString(FormatDate(v.date), out);
      return;
    case ValueKind::kTimestamp:
      AppendJsonString(FormatTimestamp(v.ts), out);
      return;
    case ValueKind::kDuration:
      AppendJsonString(FormatDuration(v.dur()), out);
      return;
    case ValueKind::kList:
      out->push_back('[');
      for (uint32_t i = 0; i < v.list->size; ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(v.list->items[i], out);
      }
      out->push_back(']');
      return;
    case ValueKind::kMap:
      out->push_back('{');
      for (uint32_t i = 0; i < v.map->size; ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(v.map->entries[i].key.str(), out);
        out->push_back(':');
        AppendJson(v.map->entries[i].value, out);
      }
      out->push_back('}');
      return;
    case ValueKind::kObject: {
      out->push_back('{');
      bool first = true;
      for (size_t i = 0; i < SlotCount(*v.obj); ++i) {
        const Value& slot = v.obj->slots[i];
        if (slot.is_absent()) continue;
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(v.obj->type->fields()[i].name, out);
        out->push_back(':');
        AppendJson(slot, out);
      }
      out->push_back('}');
      return;
    }
    case ValueKind::kError:
      *out += "{\"error\":";
      AppendJsonString(v.error_message(), out);
      *out += ",\"line\":";
      *out += std::to_string(v.err->pos.line);
      *out += ",\"column\":";
      *out += std::to_string(v.err->pos.column);
      out->push_back('}');
      return;
  }
}

std::string ToJson(const Value& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

void AppendDisplay(const Value& v, std::string* out) {
  // Scalars that JSON writes as strings show bare, as a reader of a message expects.
  switch (v.kind) {
    case ValueKind::kString:
      out->append(v.str());
      break;
    case ValueKind::kDate:
      out->append(FormatDate(v.date));
      break;
    case ValueKind::kTimestamp:
      out->append(FormatTimestamp(v.ts));
      break;
    case ValueKind::kDuration:
      out->append(FormatDuration(v.dur()));
      break;
    default:
      AppendJson(v, out);
      break;
  }
}

std::string ToDisplay(const Value& v) {
  std::string out;
  AppendDisplay(v, &out);
  return out;
}

const char* ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull:
      return "null";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kDecimal:
      return "decimal";
    case ValueKind::kString:
      return "string";
    case ValueKind::kDate:
      return "date";
    case ValueKind::kTimestamp:
      return "timestamp";
    case ValueKind::kDuration:
      return "duration";
    case ValueKind::kList:
      return "list";
    case ValueKind::kMap:
      return "map";
    case ValueKind::kObject:
      return "object";
    case ValueKind::kError:
      return "error";
  }
  return "?";
}

}  // namespace sellerflow::dsl
