package geo

// appwriteCountries is Appwrite's English country list (the "countries.*"
// keys of app/config/locale/translations/en.json), keyed by lower-case
// ISO 3166-1 alpha-2 code. Appwrite names a session's country from this
// list, not from the database record, so these spellings win (e.g.
// "Macedonia", "Swaziland") to match what Appwrite reports.
var appwriteCountries = map[string]string{
	"ad": "Andorra", "ae": "United Arab Emirates", "af": "Afghanistan", "ag": "Antigua and Barbuda",
	"al": "Albania", "am": "Armenia", "ao": "Angola", "ar": "Argentina", "at": "Austria",
	"au": "Australia", "az": "Azerbaijan", "ba": "Bosnia and Herzegovina", "bb": "Barbados",
	"bd": "Bangladesh", "be": "Belgium", "bf": "Burkina Faso", "bg": "Bulgaria", "bh": "Bahrain",
	"bi": "Burundi", "bj": "Benin", "bn": "Brunei", "bo": "Bolivia", "br": "Brazil", "bs": "Bahamas",
	"bt": "Bhutan", "bw": "Botswana", "by": "Belarus", "bz": "Belize", "ca": "Canada",
	"cd": "DR Congo", "cf": "Central African Republic", "cg": "Republic of the Congo",
	"ch": "Switzerland", "ci": "Ivory Coast", "cl": "Chile", "cm": "Cameroon", "cn": "China",
	"co": "Colombia", "cr": "Costa Rica", "cu": "Cuba", "cv": "Cape Verde", "cy": "Cyprus",
	"cz": "Czechia", "de": "Germany", "dj": "Djibouti", "dk": "Denmark", "dm": "Dominica",
	"do": "Dominican Republic", "dz": "Algeria", "ec": "Ecuador", "ee": "Estonia", "eg": "Egypt",
	"er": "Eritrea", "es": "Spain", "et": "Ethiopia", "fi": "Finland", "fj": "Fiji",
	"fm": "Micronesia", "fr": "France", "ga": "Gabon", "gb": "United Kingdom", "gd": "Grenada",
	"ge": "Georgia", "gh": "Ghana", "gm": "Gambia", "gn": "Guinea", "gq": "Equatorial Guinea",
	"gr": "Greece", "gt": "Guatemala", "gw": "Guinea-Bissau", "gy": "Guyana", "hn": "Honduras",
	"hr": "Croatia", "ht": "Haiti", "hu": "Hungary", "id": "Indonesia", "ie": "Ireland",
	"il": "Israel", "in": "India", "iq": "Iraq", "ir": "Iran", "is": "Iceland", "it": "Italy",
	"jm": "Jamaica", "jo": "Jordan", "jp": "Japan", "ke": "Kenya", "kg": "Kyrgyzstan",
	"kh": "Cambodia", "ki": "Kiribati", "km": "Comoros", "kn": "Saint Kitts and Nevis",
	"kp": "North Korea", "kr": "South Korea", "kw": "Kuwait", "kz": "Kazakhstan", "la": "Laos",
	"lb": "Lebanon", "lc": "Saint Lucia", "li": "Liechtenstein", "lk": "Sri Lanka", "lr": "Liberia",
	"ls": "Lesotho", "lt": "Lithuania", "lu": "Luxembourg", "lv": "Latvia", "ly": "Libya",
	"ma": "Morocco", "mc": "Monaco", "md": "Moldova", "me": "Montenegro", "mg": "Madagascar",
	"mh": "Marshall Islands", "mk": "Macedonia", "ml": "Mali", "mm": "Myanmar", "mn": "Mongolia",
	"mr": "Mauritania", "mt": "Malta", "mu": "Mauritius", "mv": "Maldives", "mw": "Malawi",
	"mx": "Mexico", "my": "Malaysia", "mz": "Mozambique", "na": "Namibia", "ne": "Niger",
	"ng": "Nigeria", "ni": "Nicaragua", "nl": "Netherlands", "no": "Norway", "np": "Nepal",
	"nr": "Nauru", "nz": "New Zealand", "om": "Oman", "pa": "Panama", "pe": "Peru",
	"pg": "Papua New Guinea", "ph": "Philippines", "pk": "Pakistan", "pl": "Poland", "pt": "Portugal",
	"pw": "Palau", "py": "Paraguay", "qa": "Qatar", "ro": "Romania", "rs": "Serbia", "ru": "Russia",
	"rw": "Rwanda", "sa": "Saudi Arabia", "sb": "Solomon Islands", "sc": "Seychelles", "sd": "Sudan",
	"se": "Sweden", "sg": "Singapore", "si": "Slovenia", "sk": "Slovakia", "sl": "Sierra Leone",
	"sm": "San Marino", "sn": "Senegal", "so": "Somalia", "sr": "Suriname", "ss": "South Sudan",
	"st": "São Tomé and Príncipe", "sv": "El Salvador", "sy": "Syria", "sz": "Swaziland",
	"td": "Chad", "tg": "Togo", "th": "Thailand", "tj": "Tajikistan", "tl": "Timor-Leste",
	"tm": "Turkmenistan", "tn": "Tunisia", "to": "Tonga", "tr": "Turkey", "tt": "Trinidad and Tobago",
	"tv": "Tuvalu", "tz": "Tanzania", "ua": "Ukraine", "ug": "Uganda", "us": "United States",
	"uy": "Uruguay", "uz": "Uzbekistan", "va": "Vatican City",
	"vc": "Saint Vincent and the Grenadines", "ve": "Venezuela", "vn": "Vietnam", "vu": "Vanuatu",
	"ws": "Samoa", "ye": "Yemen", "za": "South Africa", "zm": "Zambia", "zw": "Zimbabwe",
}

// otherCountries names the ISO 3166-1 codes Appwrite's list lacks
// (territories, plus the user-assigned XK for Kosovo that GeoLite2 and
// DB-IP use). Appwrite would print "Unknown" for them; a database's own
// English name is preferred when present, this table otherwise.
var otherCountries = map[string]string{
	"ai": "Anguilla", "aq": "Antarctica", "as": "American Samoa", "aw": "Aruba",
	"ax": "Åland Islands", "bl": "Saint Barthélemy", "bm": "Bermuda", "bq": "Caribbean Netherlands",
	"bv": "Bouvet Island", "cc": "Cocos (Keeling) Islands", "ck": "Cook Islands", "cw": "Curaçao",
	"cx": "Christmas Island", "eh": "Western Sahara", "fk": "Falkland Islands", "fo": "Faroe Islands",
	"gf": "French Guiana", "gg": "Guernsey", "gi": "Gibraltar", "gl": "Greenland", "gp": "Guadeloupe",
	"gs": "South Georgia and the South Sandwich Islands", "gu": "Guam", "hk": "Hong Kong",
	"hm": "Heard Island and McDonald Islands", "im": "Isle of Man",
	"io": "British Indian Ocean Territory", "je": "Jersey", "ky": "Cayman Islands",
	"mf": "Saint Martin", "mo": "Macao", "mp": "Northern Mariana Islands", "mq": "Martinique",
	"ms": "Montserrat", "nc": "New Caledonia", "nf": "Norfolk Island", "nu": "Niue",
	"pf": "French Polynesia", "pm": "Saint Pierre and Miquelon", "pn": "Pitcairn Islands",
	"pr": "Puerto Rico", "ps": "Palestine", "re": "Réunion", "sh": "Saint Helena",
	"sj": "Svalbard and Jan Mayen", "sx": "Sint Maarten", "tc": "Turks and Caicos Islands",
	"tf": "French Southern Territories", "tk": "Tokelau", "tw": "Taiwan",
	"um": "U.S. Minor Outlying Islands", "vg": "British Virgin Islands", "vi": "U.S. Virgin Islands",
	"wf": "Wallis and Futuna", "xk": "Kosovo", "yt": "Mayotte",
}

// countryName resolves the English name for a lower-case code: Appwrite's
// list, then the database's names.en, then the territories table.
func countryName(code, fromDB string) string {
	if name, ok := appwriteCountries[code]; ok {
		return name
	}
	if fromDB != "" {
		return fromDB
	}
	if name, ok := otherCountries[code]; ok {
		return name
	}
	return UnknownName
}
