validate
--profile
no-such-profile.yaml
input.hl7
