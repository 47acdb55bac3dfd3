"""sessionforge.build"""
