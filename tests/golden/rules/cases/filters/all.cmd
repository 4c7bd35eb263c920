transform
--config
config.yaml
--channel
all
input.hl7
