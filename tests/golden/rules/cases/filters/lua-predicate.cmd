transform
--config
config.yaml
--channel
lua-predicate
input.hl7
