# 10,000 block sequences opened on one line with "- - - ...".
awk 'BEGIN {
  printf "machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\ntransitions:\n  "
  for (i = 0; i < 10000; i++) printf "- "
  printf "x\n"
}' >m.yaml
