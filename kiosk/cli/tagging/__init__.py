"""The tagging station for library staff: see what is on the pad, program the tags of one item (NOR-RFID).

``read_pad`` reads every tag on the pad and decodes it (``drivers.tags.model.decode_any``): items and
patron cards with their owner, set information, variant and NOR-RFID problems; blank, damaged or foreign
tags with the kind of problem (``blank``, ``damaged``, ``unsupported``, ``malformed``, ``not_an_item``,
``read_failed``), the reason and the raw bytes.

``write_item`` programs exactly the tags on the pad as the parts of one item (ISO 28560-3, NOR-RFID):

- the number of tags must equal the number of parts; part numbers follow the UIDs in sorted order;
- a tag owned by another library (other owner library number or country, an ISO 28560-2 tag of another
  ISIL, or a patron card), or a tag whose contents cannot be decoded (damaged, unsupported, malformed), is
  only overwritten with ``force``; blank tags (all 0x00 or all 0xFF) need none; nothing is written when one
  is refused; a refused undecodable tag is named with its reason and raw memory;
- everything after the basic block (extension blocks, unknown data) is kept (``iso28560_3.rewrite``);
  memory left by another data model (ISO 28560-2) is cleared instead of being kept as "extensions", and so
  is a forced undecodable tag (where its basic block ended is not known);
- the AFI is set to 0x07 (in the library);
- every tag is read back and compared, byte for byte and decoded; a write that does not read back is
  tried again (``attempts``) and otherwise reported as failed, naming the tag.
"""

from kiosk.cli.tagging.common import (
    AFI_UNKNOWN,
    BLOCK_SIZE,
    NOR_RFID_COUNTRY,
    TaggingError,
    TaggingFailed,
    TaggingRefused,
    usage_name,
)
from kiosk.cli.tagging.reading import TagReport, read_pad, report_tag
from kiosk.cli.tagging.writing import WrittenTag, new_tag, write_item

__all__ = [
    "AFI_UNKNOWN",
    "BLOCK_SIZE",
    "NOR_RFID_COUNTRY",
    "TagReport",
    "TaggingError",
    "TaggingFailed",
    "TaggingRefused",
    "WrittenTag",
    "new_tag",
    "read_pad",
    "report_tag",
    "usage_name",
    "write_item",
]
