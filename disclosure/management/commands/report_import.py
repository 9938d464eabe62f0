"""report_import FILE.json [--replace] [--published]"""

from disclosure.interchange import load_document
from disclosure.management.importing import ImportCommand


class Command(ImportCommand):
    help = "导入一份年度报告交换文件（disclosure-report/1）。"
    reader = staticmethod(load_document)
