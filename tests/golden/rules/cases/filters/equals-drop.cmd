transform
--config
config.yaml
--channel
equals-drop
input.hl7
