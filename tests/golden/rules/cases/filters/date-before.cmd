transform
--config
config.yaml
--channel
date-before
input.hl7
