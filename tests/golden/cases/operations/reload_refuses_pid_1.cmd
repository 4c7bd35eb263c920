reload
--config
pid1.yaml
