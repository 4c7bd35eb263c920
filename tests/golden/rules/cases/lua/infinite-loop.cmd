transform
--config
config.yaml
--channel
infinite-loop
input.hl7
