"""The names of the files in a scale-out output folder, shared by the job that writes them and the readers.

Kept below ``job``, ``mapping`` and ``results`` so that none of them imports another for a file name.
"""

__all__ = ["MANIFEST", "PART_PREFIX", "MAP_FILE"]

MANIFEST = "_lcexplorer_manifest.json"
PART_PREFIX = "part-"
MAP_FILE = "_lcexplorer_map.parquet"   # object_id, x, y (written by explorer.scale.map_partitioned)
