messages
resend
5
--destination
lab
--config
junction.yaml
