status
--config
junction.yaml
