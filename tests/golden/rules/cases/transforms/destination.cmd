transform
--config
config.yaml
--channel
with-destination
--destination
archive
input.hl7
