#!/usr/bin/env python3
"""Writes common_passwords.txt: passwords of 10+ characters people pick most,
built from common words and names with the usual suffixes, and digit,
letter and keyboard runs. Run from this directory."""

WORDS = """password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop asdfgh asdfghjkl zxcvbnm letmein iloveyou admin
administrator welcome monkey dragon football baseball basketball soccer hockey sunshine princess master shadow
superman batman spiderman trustno1 starwars whatever freedom charlie michael jennifer jordan hunter ranger buster
thomas robert daniel andrew joshua matthew jessica ashley amanda michelle nicole summer winter autumn spring flower
butterfly chocolate cookie cheese pepper ginger tigger pokemon computer internet secret login access changeme default
guest user test tester hello hellokitty lovely loveme mylove angel angels blessed jesus christ heaven family friends
forever mustang ferrari porsche harley corvette yankees lakers cowboys eagles steelers liverpool arsenal chelsea
manchester barcelona madrid killer pussy fuckyou biteme ninja samurai wizard gandalf matrix zelda mario nintendo
playstation xbox minecraft fortnite roblox google facebook twitter instagram linkedin microsoft apple samsung iphone
android linux windows ubuntu oracle mysql postgres database server root toor abc abcd abcdef abcdefg abcdefgh qazwsx
qazwsxedc 1qaz2wsx zaq12wsx q1w2e3r4 q1w2e3r4t5 1q2w3e4r 1q2w3e4r5t letmein1 monkey1 dragon1 banana orange apple123
lemon strawberry coffee tequila whiskey vodka beer party sexy hottie lover baby babygirl babyboy mommy daddy sister
brother mother father london paris berlin newyork chicago boston texas florida california canada america england
france germany italy spain mexico brazil india china japan korea russia australia""".split()
SUFFIXES = ["", "1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "01", "69", "7", "99", "00", "11",
            "2000", "2010", "2015", "2018", "2019", "2020", "2021", "2022", "2023", "2024", "2025", "2026", "@123", "#1", "321"]
ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx3edc4rfv", "1q2w3e4r5t6y7u8i", "qazwsxedcrfv", "zaq12wsxcde3",
        "q1w2e3r4t5y6", "!qaz2wsx", "qwerty123456", "qwertyuiop123", "asdfghjkl123", "1234qwer", "qwer1234", "123qwe123qwe",
        "1234567890qwerty", "passwordpassword", "iloveyou123", "abc123abc123", "abcd1234abcd", "11223344556677",
        "1122334455", "1234512345", "123123123123", "1231231231", "12341234", "abcabcabcabc"]

out = set()
for w in WORDS:
    for s in SUFFIXES:
        p = w + s
        if 10 <= len(p) <= 24:
            out.add(p.lower())
    if len(w) >= 5:
        out.add(w + w)
for n in range(10, 17):
    for i in range(10):
        out.add(("0123456789" * 3)[i:i + n])
        out.add(("9876543210" * 3)[i:i + n])
    for c in "0123456789abcdefghijklmnopqrstuvwxyz":
        out.add(c * n)
for row in ROWS:
    for n in range(10, len(row) + 1):
        out.add(row[:n])
with open("common_passwords.txt", "w") as f:
    f.write("\n".join(sorted(p for p in out if len(p) >= 10)) + "\n")
