# A quote inside a plain scalar opens no string: the 10,000 brackets after it still count.
awk 'BEGIN {
  printf "machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\ndescription: [a \"b, "
  for (i = 0; i < 10000; i++) printf "["
  for (i = 0; i < 10000; i++) printf "]"
  printf "]\n"
}' >m.yaml
