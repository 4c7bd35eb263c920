transform
--config
config.yaml
--channel
sandbox-load-bytecode
input.hl7
