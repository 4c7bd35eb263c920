transform
--config
ok.yaml
--channel
lab
--destination
nope
input.hl7
