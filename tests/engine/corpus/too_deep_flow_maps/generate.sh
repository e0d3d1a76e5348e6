# 10,000 nested flow maps, one opener a line, never closed.
awk 'BEGIN {
  printf "machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\ndocument:\n"
  for (i = 0; i < 10000; i++) printf "  {a:\n"
}' >m.yaml
