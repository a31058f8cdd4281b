"""The app's core: the observable state, the services and the worker threads behind them. No widgets."""
