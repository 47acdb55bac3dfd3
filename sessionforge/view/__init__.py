"""sessionforge.view"""
