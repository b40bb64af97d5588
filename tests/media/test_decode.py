"""`voxsim.media.decode`: WAV, FLAC, OGG Vorbis and MP3 to 8 kHz PCM16 mono, and loading playback URLs.

The FLAC, OGG Vorbis and MP3 samples below were made with Debian's libsndfile 1.2.0 (through ctypes; it
encodes with libFLAC, libvorbis and LAME): a 440 Hz tone at half scale, and for the stereo ones 660 Hz on the
right channel. FLAC: 16 kHz stereo, 0.1 s. OGG Vorbis: 11,025 Hz mono, 0.1 s. MP3: 22,050 Hz stereo, 0.15 s.
"""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from voxsim.media.decode import (
    AudioError,
    decode_audio,
    load_audio,
    load_url,
    read_wav,
    resample,
    wav_bytes,
)

_FLAC = (
    "ZkxhQwAAACIQABAAAAXyAAXyA+gC8AAABkCAX96EGLBlKsOsOEnwZUF1hAAAKCAAAAByZWZlcmVuY2UgbGliRkxBQyAxLjQuMiAyMDIyMTAyMgAA"
    "AAD/+HWoAAY/y0gAAA2zGrEmTS/wtLF9W3MqKfMIAihBEIJAhQKwR5Nz911RMouFKIUIoIURJWozRm8zJGhYIiCICiCFRMQ73ocJ8K0iaKUJQSQR"
    "CwSxTW8/HQMLMFiIIJCBEQiJOJ/o/pyTJUJikKQiREQshS2WPzx20TQUIIhBCIgll0dnubEMuIwuKRLBMQkIkIiktkOPw0xiQ0giRAQkEIkSnCH3"
    "mjJpMTSFMJUIWQhYgsFkWnzPeeYTMFiChBAUQIkKXINbnNkuKiokWgsgUJEExCjBNo0M0Z+TgsgiEEQUCCZBDxHDJuMnWVJUikUSIRIRIoSa/HMb"
    "RjCTRBEQhASIKEU0m2TNYxIMFGFZJQliQWIglBKFGI0ZoN7MRxJAkgIiEEiFLkZDZGMprJlKRaQmIkSIQmCURDrxw9z1RCwQWAhRAiZKjJubIa2V"
    "4VwqJQsRRBExCpNbOZ7bFwohCIEILCBMio1jEbnVWROCoi4FiQhEiFCxHEbx7ecThQgiEEgQoFYI8m5+66omUXClEKEUEKIkrUZozeZkjQsERBEB"
    "RBComId70OE+FaRNFKEoJIIhYJYprefjoGFmCxEEEhAiIREnE/0f05JkqExSFIRIiIWQpbLH547aJoKEEQghEQSy6Oz3NiGXEYXFIlgmISESERSW"
    "yHH4aYxIaQRIgISCESJThD7zRk0mJpCmEqELIQsQWCyLT5nvPMJmCxBQggKIESFLkGtzmyXFRUSLQWQKEiCYhRgm0aGaM/JwWQRCCIKBBMgh4jhk"
    "3GTrKkqRSKJEIkIkUJNfjmNoxhJogiIQgJEFCKaTbJmsYkGCjCskoSxILEQSglCjEaM0G9mI4kgSQERCCRClyMhsjGU1kylItITESJEITBKIh144"
    "e56ohYILAQogRMlRk3NkNbK8K4VEoWIogiYhUmtnM9ti4UQhECEFhAmRUaxiNzqrInBURcCxIQiRChYjiN49vVgAAfqa+vx8tD423zEvuMf3BA2S"
    "Ea8O4oqNrSutiPtMGkNGMH5N1f9sAsKX6wAVq/vu6zFacjG+GZk4NrcieyKVNC5+TxWsJ2xNRGaISGqTX311jrbr4jGrIIhpAxHsIRVKSrfd1VNH"
    "J8mhGpshMTGkJbejwtrzq1XIJUEzNiBJ0TN/bP/ErrmufEytiRmzEREJIieyd3mHt1xUYiJkYwlNomS6F27pjxcnyprmrRsRoRCZIxFVnR6fQ/qS"
    "nYzRDEQ0YZF2SIv6FqX3y7wl1xGbshibMmzTyz9fz6/52RM2ERmxhr9iTrOxbYu/01lRIjJGI2JiRG0eXQ6rL68Z8xIzMhmxjLERMv5ir0nKolrt"
    "Ub40amQyQiNGk3XPFWlyqSLTEhEIzEgSRJppVhZs8LW3WMlpG2I2QiISN2niF6+8vyL+QiJTGRiQxr0iMX9OVIt/bou0SsbtiIhqZKSSsXVVvVdL"
    "5xMkIIjaAhizG0LUv/1vXN7claEjJiIiGZSYl6Oi96g+tqXoYmzEIbhEspiF9bitfP1bLIljXEJqxGJoxGeNav77usxWnIxvhmZODa3InsilTQuf"
    "k8VrCdsTURmiEhqk199dY626+IxqyCIaQMR7CEVSkq33dVTRyfJoRqbITExpCW3o8La86tVyCVBMzYgSdEzf2z/xK65rnxMrYkZsxERCSInsnd5h"
    "7dcVGIiZGMJTaJkuhdu6Y8XJ8qa5q0bEaEQmSMRVZ0en0P6kp2M0QxENGGRdkiL+hal98u8JdcRm7IYmzJs08s/X8+v+dkTNhEZsYa/Yk6zsW2Lv"
    "9NZUSIyRiNiYkRtHl0Oqy+vGfMSMzIZsYyxETL+Yq9JyqJa7VG+NGpkMkIjRpN1zxVpcqki0xIRCMxIEkSaaVYWbPC1t1jJaRtiNkIiEjdp4hevv"
    "L8i/kIiUxkYkMa9IjF/TlSLf26LtErG7YiIamSkkrF1Vb1XS+cTJCCI2gIYsxtC1L/9b1ze3JWhIyYiIhmUmJejoveoPral6GJsxCG4RLKYhfW4r"
    "Xz9WyyJY1xCagFMI"
)
_OGG = (
    "T2dnUwACAAAAAAAAAADM6TtOAAAAAKYnc5cBHgF2b3JiaXMAAAAAARErAAAAAAAAIE4AAAAAAACZAU9nZ1MAAAAAAAAAAAAAzOk7TgEAAABPpk4Z"
    "C1r///////////+1A3ZvcmJpczQAAABYaXBoLk9yZyBsaWJWb3JiaXMgSSAyMDIwMDcwNCAoUmVkdWNpbmcgRW52aXJvbm1lbnQpAQAAABIAAABF"
    "TkNPREVSPWxpYnNuZGZpbGUBBXZvcmJpcxJCQ1YBAAABAAxSFCElGVNKYwiVUlIpBR1jUFtHHWPUOUYhZBBTiEkZpXtPKpVYSsgRUlgpRR1TTFNJ"
    "lVKWKUUdYxRTSCFT1jFloXMUS4ZJCSVsTa50FkvomWOWMUYdY85aSp1j1jFFHWNSUkmhcxg6ZiVkFDpGxehifDA6laJCKL7H3lLpLYWKW4q91xpT"
    "6y2EGEtpwQhhc+211dxKasUYY4wxxsXiUyiC0JBVAAABAABABAFCQ1YBAAoAAMJQDEVRgNCQVQBABgCAABRFcRTHcRxHkiTLAkJDVgEAQAAAAgAA"
    "KI7hKJIjSZJkWZZlWZameZaouaov+64u667t6roOhIasBADIAAAYhiGH3knMkFOQSSYpVcw5CKH1DjnlFGTSUsaYYoxRzpBTDDEFMYbQKYUQ1E45"
    "pQwiCENInWTOIEs96OBi5zgQGrIiAIgCAACMQYwhxpBzDEoGIXKOScggRM45KZ2UTEoorbSWSQktldYi55yUTkompbQWUsuklNZCKwUAAAQ4AAAE"
    "WAiFhqwIAKIAABCDkFJIKcSUYk4xh5RSjinHkFLMOcWYcowx6CBUzDHIHIRIKcUYc0455iBkDCrmHIQMMgEAAAEOAAABFkKhISsCgDgBAIMkaZql"
    "aaJoaZooeqaoqqIoqqrleabpmaaqeqKpqqaquq6pqq5seZ5peqaoqp4pqqqpqq5rqqrriqpqy6ar2rbpqrbsyrJuu7Ks256qyrapurJuqq5tu7Js"
    "664s27rkearqmabreqbpuqrr2rLqurLtmabriqor26bryrLryratyrKua6bpuqKr2q6purLtyq5tu7Ks+6br6rbqyrquyrLu27au+7KtC7vourau"
    "yq6uq7Ks67It67Zs20LJ81TVM03X9UzTdVXXtW3VdW1bM03XNV1XlkXVdWXVlXVddWVb90zTdU1XlWXTVWVZlWXddmVXl0XXtW1Vln1ddWVfl23d"
    "92VZ133TdXVblWXbV2VZ92Vd94VZt33dU1VbN11X103X1X1b131htm3fF11X11XZ1oVVlnXf1n1lmHWdMLqurqu27OuqLOu+ruvGMOu6MKy6bfyu"
    "rQvDq+vGseu+rty+j2rbvvDqtjG8um4cu7Abv+37xrGpqm2brqvrpivrumzrvm/runGMrqvrqiz7uurKvm/ruvDrvi8Mo+vquirLurDasq/Lui4M"
    "u64bw2rbwu7aunDMsi4Mt+8rx68LQ9W2heHVdaOr28ZvC8PSN3a+AACAAQcAgAATykChISsCgDgBAAYhCBVjECrGIIQQUgohpFQxBiFjDkrGHJQQ"
    "SkkhlNIqxiBkjknIHJMQSmiplNBKKKWlUEpLoZTWUmotptRaDKG0FEpprZTSWmopttRSbBVjEDLnpGSOSSiltFZKaSlzTErGoKQOQiqlpNJKSa1l"
    "zknJoKPSOUippNJSSam1UEproZTWSkqxpdJKba3FGkppLaTSWkmptdRSba21WiPGIGSMQcmck1JKSamU0lrmnJQOOiqZg5JKKamVklKsmJPSQSgl"
    "g4xKSaW1kkoroZTWSkqxhVJaa63VmFJLNZSSWkmpxVBKa621GlMrNYVQUgultBZKaa21VmtqLbZQQmuhpBZLKjG1FmNtrcUYSmmtpBJbKanFFluN"
    "rbVYU0s1lpJibK3V2EotOdZaa0ot1tJSjK21mFtMucVYaw0ltBZKaa2U0lpKrcXWWq2hlNZKKrGVklpsrdXYWow1lNJiKSm1kEpsrbVYW2w1ppZi"
    "bLHVWFKLMcZYc0u11ZRai621WEsrNcYYa2415VIAAMCAAwBAgAlloNCQlQBAFAAAYAxjjEFoFHLMOSmNUs45JyVzDkIIKWXOQQghpc45CKW01DkH"
    "oZSUQikppRRbKCWl1losAACgwAEAIMAGTYnFAQoNWQkARAEAIMYoxRiExiClGIPQGKMUYxAqpRhzDkKlFGPOQcgYc85BKRljzkEnJYQQQimlhBBC"
    "KKWUAgAAChwAAAJs0JRYHKDQkBUBQBQAAGAMYgwxhiB0UjopEYRMSielkRJaCylllkqKJcbMWomtxNhICa2F1jJrJcbSYkatxFhiKgAA7MABAOzA"
    "Qig0ZCUAkAcAQBijFGPOOWcQYsw5CCE0CDHmHIQQKsaccw5CCBVjzjkHIYTOOecghBBC55xzEEIIoYMQQgillNJBCCGEUkrpIIQQQimldBBCCKGU"
    "UgoAACpwAAAIsFFkc4KRoEJDVgIAeQAAgDFKOSclpUYpxiCkFFujFGMQUmqtYgxCSq3FWDEGIaXWYuwgpNRajLV2EFJqLcZaQ0qtxVhrziGl1mKs"
    "NdfUWoy15tx7ai3GWnPOuQAA3AUHALADG0U2JxgJKjRkJQCQBwBAIKQUY4w5h5RijDHnnENKMcaYc84pxhhzzjnnFGOMOeecc4wx55xzzjnGmHPO"
    "Oeecc84556CDkDnnnHPQQeicc845CCF0zjnnHIQQCgAAKnAAAAiwUWRzgpGgQkNWAgDhAACAMZRSSimllFJKqKOUUkoppZRSAiGllFJKKaWUUkop"
    "pZRSSimllFJKKaWUUkoppZRSSimllFJKKaWUUkoppZRSSimllFJKKaWUUkoppZRSSimllFJKKaWUUkoppZRSSimllFJKKaWUUkoppZRSSimllFJK"
    "KaWUUkoppZRSSimVUkoppZRSSimllFJKKaUAIN8KBwD/BxtnWEk6KxwNLjRkJQAQDgAAGMMYhIw5JyWlhjEIpXROSkklNYxBKKVzElJKKYPQWmql"
    "pNJSShmElGILIZWUWgqltFZrKam1lFIoKcUaS0qppdYy5ySkklpLrbaYOQelpNZaaq3FEEJKsbXWUmuxdVJSSa211lptLaSUWmstxtZibCWlllpr"
    "qcXWWkyptRZbSy3G1mJLrcXYYosxxhoLAOBucACASLBxhpWks8LR4EJDVgIAIQEABDJKOeecgxBCCCFSijHnoIMQQgghREox5pyDEEIIIYSMMecg"
    "hBBCCKGUkDHmHIQQQgghhFI65yCEUEoJpZRSSucchBBCCKWUUkoJIYQQQiillFJKKSGEEEoppZRSSiklhBBCKKWUUkoppYQQQiillFJKKaWUEEIo"
    "pZRSSimllBJCCKGUUkoppZRSQgillFJKKaWUUkooIYRSSimllFJKCSWUUkoppZRSSikhlFJKKaWUUkoppQAAgAMHAIAAI+gko8oibDThwgMQAAAA"
    "AgACTACBAYKCUQgChBEIAAAAAAAIAPgAAEgKgIiIaOYMDhASFBYYGhweICIkAAAAAAAAAAAAAAAABE9nZ1MABE4EAAAAAAAAzOk7TgIAAAC1mx2/"
    "BhMUFRMTFJ6XUuMVwPtPAAAAAERcbExmWACmmB6QeQAAAAAwexYBAACu41JzAK6YrkLmAQAAAMDt4gEAgO7ZGzIBAKaYyJN5AAAAAJDVTQAAoFMQ"
    "8wCe2TlkXgF8fwEAAADWnH2HogAAitRZyb0C+HH3AQAAABQWHX++rAQ="
)
_MP3 = (
    "//OARAAAAAAAAAAAAAAAAAAAAAAAWGluZwAAAA8AAAAIAAAJeQAqKioqKioqKioqKipOTk5OTk5OTk5OTk5ycnJycnJycnJycnJykJCQkJCQkJCQ"
    "kJCQtLS0tLS0tLS0tLS0tNjY2NjY2NjY2NjY2Pb29vb29vb29vb29vb///////////////8AAAAKTEFNRTMuMTAwBCgAAAAAAAAAABUIJALVLQAB"
    "mgAACXnf7U/YAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP/zsGQABnwxXiymAAAKIF6seU8AAQHv/69edmZmvfmi87MxLEszMyWDcAAC"
    "AiExZQEAyJwfB/gg7B8/wxKcoH9YOHMQA/lwcDACd4AF73ve+GBQGmQcQsI+EjFzQteIIDnCRjjOt+Hj0AAACP/Mf/4ACieQNRAlHLZZs5VWk9kf"
    "lnqGmOAgBgYUEILKQgwAZoFhQLJF/k6o+gpYH6W0uIMEhSpSRI6HYXIuw3wZheRZRXjcQlWoShgbiLCRjBWiwJ8wDiN5OvTxFiFICNh+GKZ9VKhy"
    "YePmx1WLQmjWQsiWaCJPDVENqb4N40KWiw8hPOqlQ5IZBH41nX3y4YXCO1R2tqpkAgKoaL6er4OkzoMA3YORBHvWGcFhgQJCpwYEENJBwStUwcgM"
    "WKA5YByV3YdHgrNoQdgkgMGErdmJMqTnZU3gsvYmMlnZd1rsQldxh5MEBAYDAAMJMEDcpwozGX5Yk0BfbrSUxYsz58FA//OgRPsR8N1tfM08gCkh"
    "uspZm9AElADFEJiNRKlpYrSN3cJkluUNbSgUR2y5JCHGYMzppqzVs6rXPee8yNkS9GX22d/G1UZiMLSbPK3IciAYdd11d82eqkRd1CeKyXm6yxR2"
    "zxpu4w2Nldk6HZcztt3Kh6fRSL7ogLwX3RRN3aUB6DEFpFFVMn0zmo1kW4JAiw43ImWPu3S28M/S3FjlwCKydDEFU6Vuq7myXcKatau7UoXyr9dE"
    "EypDeJsketsjc4Jt0v91lr6vwOzhlzJKdAAzFWP5dBERkFPQT8dw0sQEEYFQkc07doCkz5NncDHciARPYzsdyNEhLUqBq4LYi/aXIOhLrq6amZZ9"
    "g6e8Mu7SO3JLLQrCfmEqlWqekf9sz1O4pihTnKceaiVLAcqlbWy4ajNtTCls3P/zoETrEejdcSzMYBAgMbri+ZjABLlNrCvWvbwp6KHoxEoOzj0p"
    "/H/xx5W+/ubmpyn+n/4J78NT3ywzhwNQPDUjRRSyQrMXaVd8DCQ0BBoxMSBEy1x8EOC+DOwwysKV0KA7FFhz0riMohgRCdvIzWL7gUBiEB1ZbgrG"
    "4Egl7VEOGMedqSUlWH517n4bGySjfW7GakWfht4YstjgNy36ejHCmuWsfw/Ox+dfsU3UlefKvN6/+c+jllHDFl3Jl+/y5d5arJSaFJDApE1NVFa5"
    "Q2jATvIICzJqhZVDGLFASzLlUBwKXsHkZEFZcIwBeBhh4S6Y4JgIdbC70tTIiqlD1NeiTewRKUbWbIfxmMw7UhN+vN2GmP8nVTSrlWzGpyVwRRN3"
    "hh1X2msK1bm5T9jdPZy5Tyu9NyS7Sz//85Bk/xE42W2MzfAAonG62xma2AD6/WtZVfppzVJXdTdP9+PWbFXVubqomGcQeDVEdDeTSX1GFiWZSGpg"
    "UBjoGMLgdEoyYPTEs6f0dAJIBExxoOmAA49sKYeXvPTKyIKBgivJ04gHAkEtjdNxazUrEMLra0QAErmHKhqSR2R2HeZYz1kkieGVw7hTyiFXqjxw"
    "HDcPQBdqS6mtXe3Kt+pVv2+xSvMSu7jDNPL8L9vmf08oi0swfyIwP4yYKS5sVCkKSSI7qcWaCNMwKD8xWEUxcCAwJBIwEANdRl4YJjzSSX5gQBqO"
    "qEsaEEwFENhr2MTd45EfDBIUMSiJstTNQuG24bhlyXD/86Bk2xJUzXeMzmyApMG66xmd4QAZZK0ALKkOtR/pdKZZXty9/20aEhKf3GVS6mv2KOUW"
    "Hpfx3X+pqtnly1du4bz5/27ti7NV6vaXX1qbXZT+WGVjOWbt/lJKti7hnN02pGYQOGVENEN+vTVQE7ya8gOWFC0AxpIwFNYQLhBRIZZYUD0RJc1o"
    "xwpKA65TMMFzJCkWCVJOYZEFKKocamTcnbgyTI/uslNDM5NQVOZxuKvQuh0YRFpmrGbz9Oo1+CJ0RgKmcTXMkZytKtdpdTva8myryV13UjbKILsw"
    "3u5V5ZwyufPSy3KLMUuxv57GlikajUvpQaYRzBqR0FXNf/HlHWtLoesOFoiARjUVGJJbGFbBEBVgDGYEEiM6zAWaqMnSVcYdChh0SMHilOLBtHtR"
    "LVeM4YbX7Bjd//OgZNkSiN15jM1sgiIJuu8ZnOEAZDW3LZzO3Txu9J32pa0qv1JdLIHcCTPq1xwXei2OGsL9XdjdPe7yX0sUmZVE6HLHX6y12l/K"
    "xlSZvxdp/yoKt67h2upKZCZBibz2y3q11h6WYlCxgkzLUEp1wg1AkBRIjgjAxJsLzYue/VJGDSB+sojLWtxPFk5VUtKrYdqG4vA0sb2q97Ka1qU5"
    "U9DDk5hK0+FA1qJ044/qVRSMUly5Zp4cutzfiHqrl4445dq6u4S+3azp7vxaktSjJ5Ksv/IVxLRBKgABQIhKrZkZAh3QxCHqNSqGk0gEcksJyXM+"
    "svL7lxQSaK6Ims2h0vgHCkkqlbWWtx/JIdL5VSmlTWs6OXUiYKpUzw7sRh2zWzlMslmDEUgWRvul7XcGVS7KxLKSftYS+//zkETgD6zNc3zMYACh"
    "ObLm+ZjAJe/0hjUqi7yf9bHlb895575zL4U7TM4AYhAb6wH+5TllTbYqZ////+WPJ/WdK4i/yosUOAorgVw7+HZHfF6C+FHQqkxBTUUzLjEwMKqq"
    "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqv/zMETN"
    "AaQBPATgAAAESAaJgcAAAaqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqg=="
)


def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def peaks(pcm: np.ndarray, rate: int, count: int = 1) -> list[float]:
    """The `count` strongest frequencies of `pcm`, to 10 Hz or so."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    freqs = np.fft.rfftfreq(len(pcm), 1 / rate)
    found: list[float] = []
    for i in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[i] - f) > 50 for f in found):
            found.append(float(freqs[i]))
        if len(found) == count:
            break
    return sorted(found)


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


# ---------------------------------------------------------------- WAV


def test_wav_bytes_and_read_wav_round_trip_mono_and_stereo() -> None:
    mono = tone(440, 0.1, 8000)
    back, rate = read_wav(wav_bytes(mono))
    assert rate == 8000 and np.array_equal(back, mono)
    assert read_wav(wav_bytes(mono, rate=16000))[1] == 16000
    stereo = np.stack([mono, -mono], axis=1)
    back, rate = read_wav(wav_bytes(stereo, rate=22050, channels=2))
    assert rate == 22050 and back.shape == (len(mono), 2)
    assert np.array_equal(back, stereo)


def test_wav_bytes_is_a_standard_pcm16_file() -> None:
    with wave.open(io.BytesIO(wav_bytes(np.zeros((10, 2), np.int16), 16000, 2))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, 2, 16000, 10)


def test_wav_bytes_refuses_a_shape_that_is_not_its_channels() -> None:
    with pytest.raises(ValueError, match="2 channel"):
        wav_bytes(np.zeros(10, np.int16), channels=2)
    with pytest.raises(ValueError):
        wav_bytes(np.zeros((10, 2), np.int16))


def test_read_wav_of_something_else_is_an_audio_error() -> None:
    with pytest.raises(AudioError, match="cannot decode WAV"):
        read_wav(b"not a wav file at all")


def test_a_wav_at_8khz_mono_decodes_to_its_own_samples() -> None:
    pcm = tone(1000, 0.2, 8000)
    assert np.array_equal(decode_audio(wav_bytes(pcm)), pcm)


def test_a_stereo_wav_at_another_rate_is_downmixed_and_resampled() -> None:
    left, right = tone(440, 0.5, 44100), tone(1200, 0.5, 44100)
    pcm = decode_audio(wav_bytes(np.stack([left, right], axis=1), rate=44100, channels=2))
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert len(pcm) == 4000
    assert peaks(pcm, 8000, 2) == pytest.approx([440, 1200], abs=10)
    assert rms(pcm) == pytest.approx(rms(left) / np.sqrt(2), rel=0.05)  # each tone at half its level


def test_the_rate_asked_for_is_the_rate_given() -> None:
    pcm = decode_audio(wav_bytes(tone(440, 0.5, 8000)), rate=16000)
    assert len(pcm) == 8000
    assert peaks(pcm, 16000) == pytest.approx([440], abs=10)


def test_an_8_bit_wav_comes_out_16_bit() -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(((tone(440, 0.2, 8000) >> 8) + 128).astype(np.uint8).tobytes())
    pcm = decode_audio(out.getvalue())
    assert len(pcm) == 1600 and rms(pcm) > 10000


# ---------------------------------------------------------------- FLAC, OGG Vorbis, MP3


@pytest.mark.parametrize(("sample", "seconds", "tones"), [
    (_FLAC, 0.1, [440, 660]),
    (_OGG, 0.1, [440]),
    (_MP3, 0.15, [440, 660]),
], ids=["flac-16k-stereo", "ogg-11k-mono", "mp3-22k-stereo"])
def test_each_format_decodes_to_8khz_mono(sample: str, seconds: float, tones: list[float]) -> None:
    pcm = decode_audio(base64.b64decode(sample))
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    # MP3 adds the encoder's delay and padding (two frames at most)
    assert seconds * 8000 <= len(pcm) <= seconds * 8000 + 2 * 1152 * 8000 // 22050
    assert peaks(pcm, 8000, len(tones)) == pytest.approx(tones, abs=20)
    assert rms(pcm) > 3000


def test_empty_bytes_are_an_audio_error() -> None:
    with pytest.raises(AudioError, match="cannot decode audio: it is empty"):
        decode_audio(b"")


def test_bytes_of_no_known_format_are_an_audio_error() -> None:
    with pytest.raises(AudioError, match="not WAV, MP3, OGG Vorbis or FLAC"):
        decode_audio(b"<html>404 Not Found</html>")


def test_a_broken_file_of_a_known_format_says_which() -> None:
    with pytest.raises(AudioError, match=r"cannot decode hold\.flac: not a valid FLAC file"):
        decode_audio(base64.b64decode(_FLAC)[:30], what="hold.flac")
    with pytest.raises(AudioError, match="not a valid OGG Vorbis file"):
        decode_audio(b"OggS" + bytes(100))


def test_a_wav_without_samples_is_an_audio_error() -> None:
    with pytest.raises(AudioError, match="no samples"):
        decode_audio(wav_bytes(np.zeros(0, np.int16)))


# ---------------------------------------------------------------- resample


def test_resample_is_a_no_op_at_the_same_rate() -> None:
    pcm = tone(440, 0.1, 8000)
    assert resample(pcm, 8000, 8000) is pcm


def test_resample_changes_the_length_and_keeps_the_tone() -> None:
    pcm = resample(tone(440, 1.0, 22050), 22050, 8000)
    assert pcm.dtype == np.int16 and len(pcm) == 8000
    assert peaks(pcm, 8000) == pytest.approx([440], abs=2)
    assert len(resample(np.zeros(0, np.int16), 22050, 8000)) == 0


# ---------------------------------------------------------------- load_url, load_audio


async def test_a_file_loads_by_path_and_by_file_url(tmp_path: Path) -> None:
    path = tmp_path / "hold music.wav"
    path.write_bytes(b"RIFF-bytes")
    assert await load_url(str(path)) == b"RIFF-bytes"
    assert await load_url(path.as_uri()) == b"RIFF-bytes"


async def test_a_missing_file_names_the_url_and_the_reason(tmp_path: Path) -> None:
    url = (tmp_path / "nope.wav").as_uri()
    with pytest.raises(AudioError, match=rf"cannot load {url}: No such file"):
        await load_url(url)


async def test_a_file_over_10_mb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    with path.open("wb") as f:
        f.truncate(10 * 1024 * 1024 + 1)  # sparse: nothing is written
    with pytest.raises(AudioError, match="larger than 10 MB"):
        await load_url(str(path))
    path.write_bytes(bytes(10))
    assert len(await load_url(str(path), max_bytes=10)) == 10


async def test_other_schemes_are_refused() -> None:
    with pytest.raises(AudioError, match="only file, http and https"):
        await load_url("ftp://example.com/a.wav")


async def test_load_audio_decodes_what_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "prompt.wav"
    path.write_bytes(wav_bytes(tone(440, 0.5, 16000), rate=16000))
    pcm = await load_audio(str(path))
    assert len(pcm) == 4000 and peaks(pcm, 8000) == pytest.approx([440], abs=10)
    path.write_bytes(b"garbage")
    with pytest.raises(AudioError, match=rf"cannot decode {path}: not WAV"):
        await load_audio(str(path))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Serves one handler over HTTP on localhost; gives the URL of /file."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_get("/file", handler)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/file"))

    yield start
    for server in servers:
        await server.close()


async def test_http_loads_the_body(serve: Callable[[Handler], Awaitable[str]]) -> None:
    body = wav_bytes(tone(440, 0.2, 8000))

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="audio/wav")

    assert await load_url(await serve(handler)) == body


async def test_http_error_status_names_the_url_and_status(serve: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=404, text="no such prompt")

    url = await serve(handler)
    with pytest.raises(AudioError, match=rf"cannot load {url}: HTTP 404 Not Found"):
        await load_url(url)


async def test_http_too_big_by_its_length_or_by_what_arrives(serve: Callable[[Handler], Awaitable[str]]) -> None:
    async def declared(_: web.Request) -> web.Response:
        return web.Response(body=bytes(1000))

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(bytes(100))
        await response.write_eof()
        return response

    for handler in (declared, streamed):
        with pytest.raises(AudioError, match="larger than 500 bytes"):
            await load_url(await serve(handler), max_bytes=500)


async def test_an_unreachable_host_is_an_audio_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a.wav"
    with pytest.raises(AudioError, match=rf"cannot load {url}: Cannot connect"):
        await load_url(url)


async def test_a_server_that_never_answers_times_out(serve: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(_: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError

    url = await serve(handler)
    with pytest.raises(AudioError, match=rf"cannot load {url}: no answer within 0.2 s"):
        await load_url(url, timeout=0.2)
