transform
--config
config.yaml
--channel
segment-pinned
input.hl7
