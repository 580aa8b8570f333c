from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "liftsafe.exchange"
    label = "exchange"
