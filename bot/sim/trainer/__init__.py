"""Kubeflow Trainer v2 (``trainer.kubeflow.org/v1alpha1``) in the simulated cluster: TrainJob admission,
the built-in ``torch-distributed`` ClusterTrainingRuntime, and the controller that builds a JobSet."""
