transform
--config
config.yaml
--channel
date-after
input.hl7
