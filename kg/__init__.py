"""CZT-KG: a knowledge graph of Changsha–Zhuzhou–Xiangtan (长株潭) integration."""

__version__ = "0.1.0"
