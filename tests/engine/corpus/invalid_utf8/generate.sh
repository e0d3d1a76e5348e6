# A workflow file with a Latin-1 byte (0xE9) in its description: not UTF-8.
printf 'machine: entity\nentity_type: Widget@1.0\ndescription: caf\351 widget\nstates:\n  Draft: {initial: true}\n' >m.yaml
