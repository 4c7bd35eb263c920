transform
--config
config.yaml
--channel
rename-segment
input.hl7
