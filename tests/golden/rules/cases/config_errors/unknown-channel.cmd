transform
--config
ok.yaml
--channel
nope
input.hl7
