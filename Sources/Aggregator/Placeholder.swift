// The aggregator service and daemon land here.
