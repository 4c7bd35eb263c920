transform
--config
config.yaml
--channel
precision-shorter
input.hl7
