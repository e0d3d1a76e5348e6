# A valid machine padded with comment lines to just over 256 KiB (262144 bytes).
{
  printf 'machine: entity\nentity_type: Widget@1.0\nstates:\n  Draft: {initial: true}\n'
  i=0
  while [ $i -lt 4400 ]; do
    echo "# padding line to make the file larger than the limit allows"
    i=$((i + 1))
  done
} >m.yaml
