transform
--config
config.yaml
--channel
equals-pass
input.hl7
