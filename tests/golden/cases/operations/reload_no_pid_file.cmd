reload
--config
junction.yaml
