transform
--config
bad-regex.yaml
--channel
lab
input.hl7
