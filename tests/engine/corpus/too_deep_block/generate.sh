# Block maps nested one level past the limit of 32, one space of indentation per level.
awk 'BEGIN {
  printf "machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\ndocument:\n"
  for (i = 1; i <= 32; i++) { for (j = 0; j < i; j++) printf " "; printf "f%d:\n", i }
}' >m.yaml
