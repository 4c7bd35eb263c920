transform
--config
config.yaml
--channel
with-destination
--destination
only-adt
input.hl7
