transform
--config
config.yaml
--channel
sandbox-os
input.hl7
