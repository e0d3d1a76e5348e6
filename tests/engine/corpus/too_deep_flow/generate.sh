# 10,000 nested flow sequences: the depth check must report it without recursing.
awk 'BEGIN {
  printf "machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\ndescription: "
  for (i = 0; i < 10000; i++) printf "["
  for (i = 0; i < 10000; i++) printf "]"
  printf "\n"
}' >m.yaml
