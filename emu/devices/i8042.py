"""i8042 keyboard controller (ports 0x60/0x64, IRQ 1 and IRQ 12) with a PS/2
keyboard and a PS/2 mouse behind it.

Facts from the IBM PC/AT technical reference and the PS/2 keyboard/mouse
interface documents:
- Status (read 0x64): bit 0 OBF (a byte waits in 0x60), 1 IBF (the controller
  has not yet taken the last write; always 0 here, it takes writes at once),
  2 system flag (the command byte's bit 2, set by a passed self-test), 3 A2
  (the last write was to 0x64, a command), 4 keyboard not inhibited, 5 AUX
  OBF (the byte in 0x60 came from the mouse), 6 timeout, 7 parity error.
- Command byte (0x20 reads it, 0x60 writes it): bit 0 IRQ 1 on keyboard
  data, bit 1 IRQ 12 on mouse data, bit 2 system flag, bit 4 keyboard
  disabled, bit 5 mouse disabled, bit 6 scan-code translation.
- Controller commands: 0xA7/0xA8 disable/enable the mouse port, 0xA9 mouse
  interface test (0 = good), 0xAA self-test (0x55), 0xAB keyboard interface
  test (0), 0xAD/0xAE disable/enable the keyboard, 0xC0 input port, 0xD0/0xD1
  read/write the output port (bit 0: 0 resets the CPU, bit 1: A20), 0xD2/0xD3
  write the keyboard/mouse output buffer (as if the device had sent it),
  0xD4 send the next byte to the mouse, 0xDD/0xDF A20 off/on, 0xE0 test
  inputs, 0xF0-0xFF pulse output port bits low (0xFE pulses the reset line).
- IRQ 1 / IRQ 12 follow "output buffer full with a byte from the keyboard /
  mouse" when the command byte enables them (the PIC sees the rising edge).

The keyboard answers 0xFF (reset: 0xFA then the self-test result 0xAA), 0xF2
(identify: 0xFA 0xAB 0x83, second byte 0x41 when the controller translates),
0xF0 (scan set), 0xED (LEDs), 0xF3 (typematic), 0xF4/0xF5/0xF6, 0xEE (echo),
0xFE (resend).  The mouse is a plain 3-button PS/2 mouse (ID 0) that never
moves: reset gives 0xFA 0xAA 0x00, and the stream/remote/wrap, rate,
resolution, scaling, status and read-data commands answer as the protocol
says, so Linux's psmouse driver identifies a "PS/2 Generic Mouse".
"""
from collections import deque

from .base import Device

ST_OBF, ST_IBF, ST_SYS, ST_CMD, ST_UNLOCKED, ST_AUX, ST_TIMEOUT, ST_PARITY = 1, 2, 4, 8, 16, 32, 64, 128
CB_KBD_INT, CB_AUX_INT, CB_SYS, CB_KBD_DISABLE, CB_AUX_DISABLE, CB_XLATE = 1, 2, 4, 16, 32, 64

OUT_RESET, OUT_A20 = 0x01, 0x02
OUT_KBD_OBF, OUT_AUX_OBF = 0x10, 0x20
OUT_CLOCK_DATA = 0xC0          # keyboard clock and data lines idle high

ACK, RESEND, BAT_OK = 0xFA, 0xFE, 0xAA
SRC_KBD, SRC_AUX = 0, 1
QUEUE_LIMIT = 16               # bytes a device may have queued toward the controller


class PS2Keyboard:
    """The keyboard's command interpreter: bytes in, response bytes out."""

    FIELDS = ("scan_set", "leds", "enabled", "pending", "last_sent")

    def __init__(self):
        self.reset()

    def reset(self):
        self.scan_set = 2
        self.leds = 0
        self.enabled = True
        self.pending = None          # a command waiting for its parameter byte
        self.last_sent = BAT_OK

    def command(self, b, translated):
        """The response to byte b from the host."""
        if self.pending is not None:
            cmd, self.pending = self.pending, None
            if cmd == 0xED:
                self.leds = b & 0x07
                return [ACK]
            if cmd == 0xF3:
                return [ACK]
            if cmd == 0xF0:
                if b == 0:
                    return [ACK, self.scan_set]
                if b in (1, 2, 3):
                    self.scan_set = b
                    return [ACK]
                return [RESEND]
        if b in (0xED, 0xF3, 0xF0):
            self.pending = b
            return [ACK]
        if b == 0xEE:
            return [0xEE]
        if b == 0xF2:
            return [ACK, 0xAB, 0x41 if translated else 0x83]
        if b == 0xF4:
            self.enabled = True
            return [ACK]
        if b == 0xF5:
            self.enabled = False
            return [ACK]
        if b == 0xF6:
            self.scan_set, self.leds = 2, 0
            return [ACK]
        if 0xF7 <= b <= 0xFD:
            return [ACK]
        if b == 0xFE:
            return [self.last_sent]
        if b == 0xFF:
            self.reset()
            return [ACK, BAT_OK]
        return [RESEND]


class PS2Mouse:
    """A PS/2 mouse with no movement (there is no pointer to follow)."""

    FIELDS = ("rate", "resolution", "scaling", "reporting", "remote", "wrap", "pending")

    def __init__(self):
        self.reset()

    def reset(self):
        self.rate = 100
        self.resolution = 2
        self.scaling = 1
        self.reporting = False
        self.remote = False
        self.wrap = False
        self.pending = None

    def command(self, b):
        if self.pending is not None:
            cmd, self.pending = self.pending, None
            if cmd == 0xF3:
                self.rate = b
            else:
                self.resolution = b & 3
            return [ACK]
        if self.wrap and b not in (0xEC, 0xFF):
            return [b]                  # wrap mode echoes everything else
        if b in (0xF3, 0xE8):
            self.pending = b
            return [ACK]
        if b == 0xFF:
            self.reset()
            return [ACK, BAT_OK, 0x00]
        if b == 0xFE:
            return [ACK]
        if b == 0xF6:
            self.rate, self.resolution, self.scaling, self.reporting = 100, 2, 1, False
            return [ACK]
        if b == 0xF5:
            self.reporting = False
            return [ACK]
        if b == 0xF4:
            self.reporting = True
            return [ACK]
        if b == 0xF2:
            return [ACK, 0x00]
        if b == 0xF0:
            self.remote = True
            return [ACK]
        if b == 0xEE:
            self.wrap = True
            return [ACK]
        if b == 0xEC:
            self.wrap = False
            return [ACK]
        if b == 0xEB:
            return [ACK, 0x08, 0x00, 0x00]       # a packet with no buttons and no motion
        if b == 0xEA:
            self.remote = False
            return [ACK]
        if b == 0xE9:
            status = ((0x40 if self.remote else 0) | (0x20 if self.reporting else 0)
                      | (0x10 if self.scaling == 2 else 0))
            return [ACK, status, self.resolution, self.rate]
        if b == 0xE7:
            self.scaling = 2
            return [ACK]
        if b == 0xE6:
            self.scaling = 1
            return [ACK]
        return [RESEND]


class I8042(Device):
    name = "i8042"
    ports = ((0x60, 1), (0x64, 1))
    state_version = 1

    def __init__(self, ctx, set_a20, reset, kbd_irq=1, aux_irq=12):
        self.set_a20 = set_a20
        self.reset_cpu = reset
        self.kbd_irq, self.aux_irq = kbd_irq, aux_irq
        self._lines = {kbd_irq: ctx.irq(kbd_irq), aux_irq: ctx.irq(aux_irq)}
        self.keyboard = PS2Keyboard()
        self.mouse = PS2Mouse()
        self._irq = {kbd_irq: False, aux_irq: False}
        self.reset()

    def reset(self):
        # the state firmware leaves: self-test passed, both interrupts on, translation on
        self.ccb = CB_KBD_INT | CB_AUX_INT | CB_SYS | CB_XLATE
        self.ram = bytearray(32)
        self.outport = OUT_RESET | OUT_A20
        self.status_cmd = False           # A2: last write went to 0x64
        self.pending = None               # a controller command waiting for its data byte
        self.obf = None                   # (byte, source) in the output buffer
        self.queue = deque()              # bytes behind it, (byte, source)
        self.last_read = 0
        self.keyboard.reset()
        self.mouse.reset()
        self._update_irqs()

    # --- output buffer -------------------------------------------------------------------------
    def _push(self, data, source):
        for b in data:
            if len(self.queue) < QUEUE_LIMIT:
                self.queue.append((b & 0xFF, source))
        self._refill()

    def _refill(self):
        if self.obf is None and self.queue:
            self.obf = self.queue.popleft()
        self._update_irqs()

    def _update_irqs(self):
        kbd = aux = False
        if self.obf is not None:
            if self.obf[1] == SRC_AUX:
                aux = bool(self.ccb & CB_AUX_INT)
            else:
                kbd = bool(self.ccb & CB_KBD_INT)
        for irq, level in ((self.kbd_irq, kbd), (self.aux_irq, aux)):
            if self._irq[irq] != level:
                self._irq[irq] = level
                self._lines[irq].set(level)

    def status(self):
        s = ST_UNLOCKED
        if self.ccb & CB_SYS:
            s |= ST_SYS
        if self.status_cmd:
            s |= ST_CMD
        if self.obf is not None:
            s |= ST_OBF
            if self.obf[1] == SRC_AUX:
                s |= ST_AUX
        return s

    # --- ports ------------------------------------------------------------------------------
    def io_read(self, port, size):
        if port == 0x64:
            return self.status()
        if self.obf is not None:
            self.last_read = self.obf[0]
            self.obf = None
            self._update_irqs()           # the line drops, so the next byte is a new edge
            self._refill()
        return self.last_read             # an empty buffer reads the last byte again

    def io_write(self, port, size, value):
        value &= 0xFF
        if port == 0x64:
            self.status_cmd = True
            self._command(value)
        else:
            self.status_cmd = False
            self._data(value)

    def _command(self, c):
        self.pending = None
        if 0x20 <= c <= 0x3F:
            self._push([self.ccb if c == 0x20 else self.ram[c & 0x1F]], SRC_KBD)
        elif 0x60 <= c <= 0x7F or c in (0xD1, 0xD2, 0xD3, 0xD4):
            self.pending = c
        elif c == 0xA4:
            self._push([0xF1], SRC_KBD)   # no password installed
        elif c == 0xA7:
            self.ccb |= CB_AUX_DISABLE
        elif c == 0xA8:
            self.ccb &= ~CB_AUX_DISABLE
        elif c in (0xA9, 0xAB):
            self._push([0x00], SRC_KBD)   # interface test passed
        elif c == 0xAA:
            self.ccb |= CB_SYS
            self._push([0x55], SRC_KBD)
        elif c == 0xAD:
            self.ccb |= CB_KBD_DISABLE
        elif c == 0xAE:
            self.ccb &= ~CB_KBD_DISABLE
        elif c == 0xC0:
            self._push([0x80], SRC_KBD)   # input port: keyboard not inhibited
        elif c == 0xD0:
            self._push([self._output_port()], SRC_KBD)
        elif c == 0xDD:
            self._write_output_port(self.outport & ~OUT_A20)
        elif c == 0xDF:
            self._write_output_port(self.outport | OUT_A20)
        elif c == 0xE0:
            self._push([0x00], SRC_KBD)
        elif c >= 0xF0:
            if not c & OUT_RESET:         # pulse bit 0 low: the CPU's reset line
                self.reset_cpu()
        self._update_irqs()

    def _data(self, b):
        cmd, self.pending = self.pending, None
        if cmd is None:
            reply = self.keyboard.command(b, bool(self.ccb & CB_XLATE))
            if b != 0xFE:
                self.keyboard.last_sent = reply[-1]
            self._push(reply, SRC_KBD)
        elif 0x60 <= cmd <= 0x7F:
            if cmd == 0x60:
                self.ccb = b & 0x77
            else:
                self.ram[cmd & 0x1F] = b
            self._update_irqs()
        elif cmd == 0xD1:
            self._write_output_port(b)
        elif cmd == 0xD2:
            self._push([b], SRC_KBD)
        elif cmd == 0xD3:
            self._push([b], SRC_AUX)
        elif cmd == 0xD4:
            self._push(self.mouse.command(b), SRC_AUX)

    def _output_port(self):
        v = (self.outport & (OUT_RESET | OUT_A20)) | OUT_CLOCK_DATA
        if self.obf is not None:
            v |= OUT_AUX_OBF if self.obf[1] == SRC_AUX else OUT_KBD_OBF
        return v

    def _write_output_port(self, v):
        old, self.outport = self.outport, v
        if (old ^ v) & OUT_A20:
            self.set_a20(bool(v & OUT_A20))
        if not v & OUT_RESET:
            self.outport |= OUT_RESET     # the reset line is pulsed, then reads high again
            self.reset_cpu()

    # --- state -------------------------------------------------------------------------------
    def save_state(self):
        return {"version": self.state_version, "ccb": self.ccb, "ram": bytes(self.ram),
                "outport": self.outport, "status_cmd": self.status_cmd, "pending": self.pending,
                "obf": list(self.obf) if self.obf else None, "queue": [list(q) for q in self.queue],
                "last_read": self.last_read,
                "keyboard": {f: getattr(self.keyboard, f) for f in PS2Keyboard.FIELDS},
                "mouse": {f: getattr(self.mouse, f) for f in PS2Mouse.FIELDS}}

    def load_state(self, d):
        self.ccb, self.ram, self.outport = d["ccb"], bytearray(d["ram"]), d["outport"]
        self.status_cmd, self.pending, self.last_read = d["status_cmd"], d["pending"], d["last_read"]
        self.obf = tuple(d["obf"]) if d["obf"] else None
        self.queue = deque(tuple(q) for q in d["queue"])
        for f in PS2Keyboard.FIELDS:
            setattr(self.keyboard, f, d["keyboard"][f])
        for f in PS2Mouse.FIELDS:
            setattr(self.mouse, f, d["mouse"][f])
        self._update_irqs()
