messages
resend
5
--config
junction.yaml
