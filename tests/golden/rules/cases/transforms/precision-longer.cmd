transform
--config
config.yaml
--channel
precision-longer
input.hl7
