reload
--config
bad.yaml
