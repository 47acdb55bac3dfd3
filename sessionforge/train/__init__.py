"""sessionforge.train"""
