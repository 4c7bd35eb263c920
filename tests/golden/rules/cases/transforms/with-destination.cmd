transform
--config
config.yaml
--channel
with-destination
input.hl7
