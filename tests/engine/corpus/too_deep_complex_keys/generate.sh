# 10,000 explicit keys opened on one line with "? ? ? ...".
awk 'BEGIN {
  printf "machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\ndescription:\n  "
  for (i = 0; i < 10000; i++) printf "? "
  printf "x\n"
}' >m.yaml
