"""Parses a Prometheus (or OpenMetrics) text exposition from stdin with the official
prometheus_client parser and prints one JSON object per sample, for PromText.java.

Usage: python3 prom_parse.py prometheus|openmetrics < metrics.txt
"""
import json
import sys

mode = sys.argv[1]
if mode == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(json.dumps({
            "family": family.name,
            "type": family.type,
            "name": s.name,
            "labels": s.labels,
            # repr keeps NaN and +Inf readable without bending JSON.
            "value": repr(float(s.value)),
        }))
