"""What the store and graph say about failures: root-cause analysis and health scores."""
