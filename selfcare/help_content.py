"""The help pages the portal starts with, written from the operator's FAQ (seeds/operator-faq.txt).

Loaded by `manage.py load_help_pages` (and `seed_demo`) through
selfcare.services.help.help_pages_load, which only adds the pages that are
missing: once a page is in the database it belongs to staff, who edit it in
the admin, and a later load never overwrites their text.

Bodies are plain text: a blank line starts a new paragraph, and addresses
(https://…) become links when the page is shown.
"""

from __future__ import annotations

from selfcare.models.help import HelpCategory
from selfcare.services.help import HelpPageData

HELP_PAGES: tuple[HelpPageData, ...] = (
    # Contacts first: it is the page most visitors are looking for.
    {
        "slug": "contacts",
        "category": HelpCategory.CONTACTS,
        "position": 10,
        "title_it": "Contatti e orari del servizio clienti",
        "title_en": "Contacts and customer service hours",
        "body_it": """\
Il servizio clienti Business risponde al numero 1928. La chiamata è sempre gratuita.

Assistenza commerciale (offerte, fatture, pagamenti, pratiche): dal lunedì alla domenica, dalle 8:00 alle 20:00.

Assistenza tecnica (linee, SIM, internet, servizi voce e dati): 7 giorni su 7, 24 ore su 24.

Dall'estero: chiama il 1928, gratuito anche in roaming. Se il 1928 non è raggiungibile dal paese in cui ti trovi, chiama il numero esteso +39 320 5000199.

WhatsApp: per l'assistenza tecnica sui servizi voce e dati puoi scriverci al +39 327 2122942.

Molte richieste non hanno bisogno di una telefonata: in questo portale trovi le fatture e le loro copie, il metodo di pagamento, i dettagli delle SIM, i servizi di ogni linea e le pratiche con il loro stato.""",
        "body_en": """\
Business customer service answers on 1928. The call is always free.

Commercial assistance (offers, invoices, payments, requests): Monday to Sunday, 8:00 to 20:00.

Technical assistance (lines, SIMs, internet, voice and data services): 7 days a week, 24 hours a day.

From abroad: call 1928, free of charge in roaming too. If 1928 cannot be reached from the country you are in, call the extended number +39 320 5000199.

WhatsApp: for technical assistance on voice and data services you can write to +39 327 2122942.

Many requests need no call: in this portal you find invoices and their copies, the payment method, SIM details, each line's services and your requests with their status.""",
    },
    {
        "slug": "theft-and-loss",
        "category": HelpCategory.CONTACTS,
        "position": 20,
        "title_it": "Furto o smarrimento della SIM o del telefono",
        "title_en": "Theft or loss of the SIM or the phone",
        "body_it": """\
In caso di furto o smarrimento, di sospetta manomissione della SIM o del dispositivo, o se persone non autorizzate sono venute a conoscenza dei tuoi codici personali (PIN, PUK), avvisa subito l'operatore chiamando il 1928, gratuito anche dall'estero (numero esteso +39 320 5000199).

La linea viene bloccata per impedirne l'uso da parte di altri.

Entro sette giorni devi inviare una copia della denuncia presentata alle autorità competenti. Puoi caricarla nel portale, nella sezione Pratiche e documenti.

Dopo il blocco puoi chiedere una nuova SIM o una eSIM con lo stesso numero.""",
        "body_en": """\
In case of theft or loss, suspected tampering with the SIM or the device, or if unauthorised people have learnt your personal codes (PIN, PUK), tell the operator at once by calling 1928, free from abroad too (extended number +39 320 5000199).

The line is blocked so that nobody else can use it.

Within seven days you must send a copy of the complaint made to the competent authorities. You can upload it in the portal, in the Procedures and documents section.

Once the line is blocked you can ask for a new SIM or an eSIM with the same number.""",
    },
    {
        "slug": "ussd-codes",
        "category": HelpCategory.CODES,
        "position": 10,
        "title_it": "Stringhe USSD e codici utili",
        "title_en": "USSD strings and useful codes",
        "body_it": """\
Le stringhe USSD e i codici di servizio si digitano sulla tastiera del telefono, come un numero, e si inviano con il tasto di chiamata. Iniziano con * o # e finiscono con #. Funzionano solo dalla SIM della linea interessata.

Avviso di chiamata (ti segnala una chiamata in arrivo mentre sei già al telefono): attiva con *43#, disattiva con #43#, verifica lo stato con *#43#. Sulle SIM Business è già attivo.

Trasferimento di chiamata verso un altro numero: sempre **21*numero#, se non rispondi **61*numero#, se sei irraggiungibile **62*numero#, se sei occupato **67*numero#. Per annullare tutti i trasferimenti digita ##002#; per verificare il trasferimento incondizionato *#21#.

Nascondere il tuo numero per una sola chiamata: digita #31# prima del numero da chiamare.

Codice IMEI del telefono (serve per la denuncia in caso di furto): *#06#.

Il credito residuo delle linee ricaricabili, i servizi attivi (VoLTE, blocco dei servizi a sovrapprezzo) e i dettagli della SIM sono nel portale, nella sezione Linee e SIM, senza bisogno di codici.""",
        "body_en": """\
USSD strings and service codes are typed on the phone's keypad, like a number, and sent with the call key. They start with * or # and end with #. They work only from the SIM of the line concerned.

Call waiting (tells you about an incoming call while you are already on the phone): activate with *43#, deactivate with #43#, check its status with *#43#. It is already active on Business SIMs.

Call forwarding to another number: always **21*number#, when you do not answer **61*number#, when you cannot be reached **62*number#, when you are busy **67*number#. To cancel every forwarding dial ##002#; to check the unconditional forwarding *#21#.

Hiding your number for one call only: dial #31# before the number you call.

The phone's IMEI code (needed for the complaint after a theft): *#06#.

The residual credit of prepaid lines, the active services (VoLTE, premium services barring) and the SIM details are in the portal, in the Lines and SIMs section, with no code needed.""",
    },
    {
        "slug": "premium-services-barring",
        "category": HelpCategory.CODES,
        "position": 20,
        "title_it": "Servizi a sovrapprezzo (VAS) e blocco",
        "title_en": "Premium services (VAS) and their barring",
        "body_it": """\
I servizi a sovrapprezzo (VAS, Value Added Services) sono contenuti e servizi di terzi, come abbonamenti a notizie, giochi o suonerie, il cui costo viene addebitato sul conto telefonico o sul credito della linea.

Per tutelarti, il blocco dei servizi a sovrapprezzo è attivo per impostazione predefinita su ogni nuova SIM (delibera AGCOM 10/21/CONS).

Per rimuovere il blocco su una linea apri la linea nella sezione Linee e SIM del portale: ti inviamo via SMS, sulla linea stessa, un codice monouso da inserire per confermare. Puoi rimettere il blocco in qualsiasi momento.

Ogni modifica resta registrata nello storico della linea, con chi l'ha fatta e quando.""",
        "body_en": """\
Premium services (VAS, Value Added Services) are third-party content and services, such as news, games or ringtone subscriptions, charged to the phone bill or to the line's credit.

To protect you, premium services barring is on by default on every new SIM (AGCOM resolution 10/21/CONS).

To lift the barring on a line, open the line in the portal's Lines and SIMs section: we send a one-time code by SMS to the line itself, which you enter to confirm. You can put the barring back at any time.

Every change stays in the line's history, with who made it and when.""",
    },
    {
        "slug": "apn-internet",
        "category": HelpCategory.SETTINGS,
        "position": 10,
        "title_it": "APN internet.it: configurare internet sullo smartphone",
        "title_en": "APN internet.it: setting up internet on a smartphone",
        "body_it": """\
Per navigare il telefono usa un punto di accesso (APN). Di solito la configurazione arriva da sola quando inserisci la SIM; se internet non funziona, impostala a mano.

Android: Impostazioni > Rete e internet > SIM > Nomi punti di accesso (APN), poi aggiungi un nuovo APN. iPhone: Impostazioni > Cellulare > Opzioni dati cellulare > Rete dati cellulare.

Nome: a piacere, ad esempio Internet Business. APN: internet.it. Nome utente e password: lasciali vuoti. Autenticazione: nessuna. Tipo APN: default,supl. Protocollo: IPv4/IPv6.

Salva, scegli il nuovo APN come attivo e riavvia il telefono.

All'estero: controlla che il servizio dati in roaming sia attivo sul telefono e nel paese in cui ti trovi; se non riesci a collegarti, verifica di nuovo che l'APN sia internet.it.""",
        "body_en": """\
To go online the phone uses an access point (APN). The settings usually arrive by themselves when you insert the SIM; if internet does not work, set them by hand.

Android: Settings > Network and internet > SIMs > Access Point Names (APN), then add a new APN. iPhone: Settings > Mobile data > Mobile data options > Mobile data network.

Name: anything you like, for example Business Internet. APN: internet.it. User name and password: leave them empty. Authentication: none. APN type: default,supl. Protocol: IPv4/IPv6.

Save, choose the new APN as the active one and restart the phone.

Abroad: check that data roaming is on in the phone and available in the country you are in; if you still cannot connect, check again that the APN is internet.it.""",
    },
    {
        "slug": "modem-router-settings",
        "category": HelpCategory.SETTINGS,
        "position": 20,
        "title_it": "Configurare modem, router e chiavette",
        "title_en": "Setting up modems, routers and dongles",
        "body_it": """\
Un modem o un router 4G/5G con una SIM Business si configura con gli stessi parametri dello smartphone.

Nella pagina di amministrazione del modem (di solito all'indirizzo indicato sull'etichetta del dispositivo) cerca la sezione Rete mobile, Connessione o APN e inserisci: APN internet.it; nome utente e password vuoti; autenticazione nessuna; tipo IP IPv4/IPv6 (o IPv4 se il modem non offre altre scelte).

Se il modem chiede il PIN della SIM, inseriscilo o disattiva la richiesta del PIN inserendo prima la SIM in un telefono. Il PIN e il PUK di ogni SIM sono nel portale, nella pagina della linea, dopo aver confermato la password.

Salva e riavvia il modem. Se la connessione non parte, spegnilo, togli e rimetti la SIM e riaccendilo. Per un aiuto sul modello del tuo dispositivo chiama l'assistenza tecnica al 1928, attiva 24 ore su 24.""",
        "body_en": """\
A 4G/5G modem or router with a Business SIM is set up with the same parameters as a smartphone.

In the modem's administration page (usually at the address printed on the device's label) look for the Mobile network, Connection or APN section and enter: APN internet.it; user name and password empty; authentication none; IP type IPv4/IPv6 (or IPv4 if the modem offers no other choice).

If the modem asks for the SIM's PIN, enter it, or turn off the PIN request by first putting the SIM in a phone. The PIN and PUK of every SIM are in the portal, on the line's page, after you confirm your password.

Save and restart the modem. If the connection does not start, switch it off, take the SIM out and put it back, and switch it on again. For help with your device's model call technical assistance on 1928, open 24 hours a day.""",
    },
    {
        "slug": "volte-and-esim",
        "category": HelpCategory.SETTINGS,
        "position": 30,
        "title_it": "VoLTE ed eSIM",
        "title_en": "VoLTE and eSIM",
        "body_it": """\
VoLTE (Voice over LTE) ti permette di fare chiamate in alta definizione, con un audio più nitido e isolato dai rumori, e di continuare a navigare e usare le app durante la chiamata senza rallentamenti. Puoi attivarlo o disattivarlo per ogni linea nel portale, nella sezione Linee e SIM; il telefono deve essere compatibile.

La eSIM è una SIM digitale: attiva un'offerta mobile sul telefono senza una SIM fisica e svolge le stesse funzioni, con accesso alla stessa rete. È compatibile con tutti i piani tariffari Business, ma solo con dispositivi compatibili.

Dal portale puoi chiedere una nuova linea su eSIM o passare una SIM fisica a eSIM: ti serve l'EID del dispositivo (32 cifre, lo trovi nelle impostazioni del telefono o digitando *#06#). Il codice di attivazione viene mostrato come codice QR, da inquadrare con il telefono. Quando la eSIM è attiva, la vecchia SIM fisica smette di funzionare.""",
        "body_en": """\
VoLTE (Voice over LTE) lets you make high-definition calls, with sharper sound isolated from the noise around you, and keep browsing and using apps during a call without slowing down. You can turn it on or off for each line in the portal, in the Lines and SIMs section; the phone must support it.

An eSIM is a digital SIM: it activates a mobile offer on the phone without a physical SIM and does the same job, with access to the same network. It works with every Business tariff plan, but only on compatible devices.

In the portal you can ask for a new line on an eSIM or move a physical SIM to an eSIM: you need the device's EID (32 digits, found in the phone's settings or by dialling *#06#). The activation code is shown as a QR code for the phone to scan. Once the eSIM is active, the old physical SIM stops working.""",
    },
    {
        "slug": "voicemail-abroad",
        "category": HelpCategory.ABROAD,
        "position": 10,
        "title_it": "Segreteria telefonica dall'estero",
        "title_en": "Voicemail from abroad",
        "body_it": """\
Per ascoltare i messaggi della segreteria quando sei all'estero devi digitare numeri diversi a seconda del tipo di dispositivo che usi. Il servizio clienti ti indica il codice giusto per il tuo: chiama il 1928, gratuito anche dall'estero, oppure il numero esteso +39 320 5000199.

Ascoltare la segreteria dall'estero costa come una chiamata dal paese in cui ti trovi. Fuori dall'Unione europea, anche una chiamata che finisce in segreteria mentre sei all'estero può essere addebitata come una chiamata ricevuta.

Per evitare questi costi puoi disattivare prima di partire i trasferimenti verso la segreteria: digita ##004# e premi il tasto di chiamata. Al ritorno li riattivi dal telefono o chiedendo al 1928.

Per verificare in anticipo che il roaming sia attivo, apri la linea nel portale, chiedi al referente della tua azienda o chiama il 1928.""",
        "body_en": """\
To listen to your voicemail messages while abroad you dial different numbers depending on the kind of device you use. Customer service tells you the right code for yours: call 1928, free from abroad too, or the extended number +39 320 5000199.

Listening to voicemail from abroad costs as much as a call from the country you are in. Outside the European Union, even a call that ends up in your voicemail while you are abroad may be charged as a received call.

To avoid these costs you can turn off forwarding to voicemail before you leave: dial ##004# and press the call key. Back home, turn it on again from the phone or by asking 1928.

To check beforehand that roaming is active, open the line in the portal, ask your company's contact person or call 1928.""",
    },
    {
        "slug": "calling-from-abroad",
        "category": HelpCategory.ABROAD,
        "position": 20,
        "title_it": "Chiamare, navigare e ricevere assistenza all'estero",
        "title_en": "Calling, browsing and getting help abroad",
        "body_it": """\
Le SIM Business sono già abilitate al roaming internazionale.

Chiamate: all'estero componi sempre il numero con il prefisso internazionale, sia per le chiamate locali sia per quelle verso l'Italia. SMS: scrivi il numero del destinatario in formato internazionale, ad esempio +39 329 1234567 per l'Italia.

Internet: verifica che il servizio dati in roaming sia attivo nel paese in cui ti trovi e che l'APN sia internet.it.

Nell'Unione europea, in Islanda, Liechtenstein e Norvegia usi la tua offerta nazionale senza costi aggiuntivi (roaming come a casa, Regolamento UE 2022/612, che ha sostituito il 531/2012), per viaggi occasionali ed entro i limiti di uso corretto (fair use). Svizzera, Regno Unito, San Marino e Città del Vaticano non sono nell'Unione europea: lì si applicano le tariffe della loro zona.

Per il traffico dati all'estero si applica sempre il controllo della spesa (Regolamento UE 544/2009), con una soglia massima di 200 € al mese.

Se la rete scelta in automatico non funziona, seleziona a mano un altro operatore dal menu delle impostazioni di rete del telefono.

Assistenza: chiama il 1928, gratuito, o il +39 320 5000199; per l'assistenza tecnica su voce e dati scrivi su WhatsApp al +39 327 2122942.""",
        "body_en": """\
Business SIMs are already enabled for international roaming.

Calls: abroad, always dial the number with its international prefix, for local calls and calls to Italy alike. SMS: write the recipient's number in international format, for example +39 329 1234567 for Italy.

Internet: check that data roaming is available in the country you are in and that the APN is internet.it.

In the European Union, Iceland, Liechtenstein and Norway you use your domestic offer at no extra cost (roam like at home, EU Regulation 2022/612, which replaced 531/2012), on occasional trips and within the fair-use limits. Switzerland, the United Kingdom, San Marino and the Vatican City are not in the European Union: their zone's rates apply there.

Data traffic abroad is always subject to the spending control (EU Regulation 544/2009), with a maximum threshold of €200 a month.

If the network chosen automatically does not work, choose another operator by hand from the phone's network settings.

Help: call 1928, free, or +39 320 5000199; for technical assistance on voice and data write on WhatsApp to +39 327 2122942.""",
    },
    {
        "slug": "manual-network-selection",
        "category": HelpCategory.ABROAD,
        "position": 30,
        "title_it": "Selezione manuale della rete all'estero",
        "title_en": "Choosing the network by hand abroad",
        "body_it": """\
All'estero il telefono sceglie da solo un operatore locale. Se la rete scelta non funziona, o il segnale è debole, puoi scegliere a mano un altro operatore del paese.

Android: Impostazioni > Rete e internet > SIM (o Reti mobili) > disattiva Seleziona automaticamente la rete, poi scegli un operatore dall'elenco. iPhone: Impostazioni > Cellulare > Selezione rete > disattiva Automatica, poi scegli un operatore.

La ricerca delle reti può richiedere qualche minuto. Se l'operatore scelto non accetta la SIM, provane un altro dell'elenco.

Al ritorno in Italia riattiva la selezione automatica, altrimenti il telefono potrebbe restare senza rete.

Le tariffe non cambiano con l'operatore scelto: dipendono dalla zona del paese in cui ti trovi.""",
        "body_en": """\
Abroad the phone chooses a local operator by itself. If the network it chose does not work, or the signal is weak, you can choose another operator of the country by hand.

Android: Settings > Network and internet > SIMs (or Mobile networks) > turn off Automatically select network, then choose an operator from the list. iPhone: Settings > Mobile data > Network selection > turn off Automatic, then choose an operator.

Searching for networks may take a few minutes. If the operator you chose does not accept the SIM, try another one in the list.

Back in Italy turn automatic selection on again, or the phone may stay without a network.

Rates do not depend on the operator you choose: they depend on the zone of the country you are in.""",
    },
    {
        "slug": "data-abroad",
        "category": HelpCategory.ABROAD,
        "position": 40,
        "title_it": "Internet all'estero: APN, dati in roaming e soglia di spesa",
        "title_en": "Internet abroad: APN, data roaming and the spending cap",
        "body_it": """\
Per navigare all'estero servono tre cose: il roaming e i dati all'estero attivi sulla linea, i dati in roaming attivi sul telefono e l'APN internet.it.

Sulla linea: nella sezione Estero del portale vedi per ogni linea se funzionerà all'estero e se i dati sono attivi, e puoi attivarli o disattivarli.

Sul telefono: Android: Impostazioni > Rete e internet > SIM > Roaming. iPhone: Impostazioni > Cellulare > Opzioni dati cellulare > Roaming dati.

APN: internet.it, con nome utente e password vuoti. Se non riesci a collegarti, controlla l'APN come indicato nella pagina sulla configurazione di internet.

Soglia di spesa: per il traffico dati all'estero a pagamento (quello che la tua offerta nazionale non copre) si applica a ogni linea una soglia di 200 € al mese IVA esclusa (Regolamento CE 544/2009). Ti avvisiamo all'80% e al 100%; al 100% i dati all'estero si fermano finché non scegli di continuare per quel mese o il mese finisce. L'azienda può fissare una soglia più bassa; per una più alta si fa una richiesta.

Nei paesi dell'UE/SEE, con il roaming come a casa, i dati della tua offerta si usano senza costi aggiuntivi, entro l'uso corretto.""",
        "body_en": """\
To go online abroad you need three things: roaming and data abroad on for the line, data roaming on in the phone, and the APN internet.it.

On the line: in the portal's Abroad section you see for each line whether it will work abroad and whether data is on, and you can turn them on or off.

On the phone: Android: Settings > Network and internet > SIMs > Roaming. iPhone: Settings > Mobile data > Mobile data options > Data roaming.

APN: internet.it, with user name and password empty. If you cannot connect, check the APN as the page on setting up internet explains.

Spending cap: chargeable data abroad (what your domestic offer does not cover) is capped on every line at €200 a month excluding VAT (Regulation (EC) 544/2009). We tell you at 80% and at 100%; at 100% data abroad stops until you choose to continue for that month or the month ends. The company may set a lower cap; a higher one is asked for with a request.

In the EU/EEA countries, where you roam like at home, your offer's data is used at no extra cost, within fair use.""",
    },
    {
        "slug": "assistance-from-abroad",
        "category": HelpCategory.ABROAD,
        "position": 50,
        "title_it": "Assistenza dall'estero",
        "title_en": "Getting help from abroad",
        "body_it": """\
Dall'estero chiama il 1928: la chiamata è gratuita anche in roaming.

Se dal paese in cui ti trovi il 1928 non è raggiungibile, chiama il numero esteso +39 320 5000199.

Per l'assistenza tecnica sui servizi voce e dati puoi scriverci su WhatsApp al +39 327 2122942.

In caso di furto o smarrimento della SIM all'estero chiamaci subito: blocchiamo la linea perché nessun altro la usi.""",
        "body_en": """\
From abroad call 1928: the call is free in roaming too.

If 1928 cannot be reached from the country you are in, call the extended number +39 320 5000199.

For technical assistance on voice and data services you can write to us on WhatsApp at +39 327 2122942.

If the SIM is stolen or lost abroad, call us at once: we block the line so that nobody else uses it.""",
    },
    {
        "slug": "register-of-objections",
        "category": HelpCategory.PRIVACY,
        "position": 10,
        "title_it": "Registro pubblico delle opposizioni",
        "title_en": "Public register of objections (Registro pubblico delle opposizioni)",
        "body_it": """\
Il Registro pubblico delle opposizioni è il servizio pubblico con cui chi ha un numero di telefono può opporsi alle chiamate per fini commerciali, promozionali o di ricerche di mercato. Dal 2022 vale per tutti i numeri, fissi e mobili, anche se non sono negli elenchi telefonici.

L'iscrizione è gratuita e si fa direttamente presso il Registro, sul suo sito ufficiale: https://www.registrodelleopposizioni.it/

Questo portale non iscrive nessuno al Registro e non trasmette richieste: per iscrivere i numeri della tua azienda usa il sito del Registro, dove trovi anche gli altri modi per iscriverti e per revocare l'iscrizione.

Per inserire i tuoi numeri negli elenchi telefonici o cambiare i dati pubblicati, fai una richiesta nella sezione Pratiche e documenti.""",
        "body_en": """\
The public register of objections (Registro pubblico delle opposizioni) is the public service through which anyone with a phone number can object to calls for commercial or promotional purposes or market research. Since 2022 it covers every number, fixed and mobile, even when it is not in the phone directories.

Registering is free and is done directly with the register, on its official website: https://www.registrodelleopposizioni.it/

This portal registers nobody in the register and passes no request on: to register your company's numbers use the register's website, which also lists the other ways to register and to withdraw a registration.

To have your numbers listed in the phone directories or to change the published data, make a request in the Procedures and documents section.""",
    },
    {
        "slug": "business-app",
        "category": HelpCategory.APP,
        "position": 10,
        "title_it": "L'app Business",
        "title_en": "The Business app",
        "body_it": """\
Con l'app Business tieni sotto controllo le linee della tua azienda anche dal telefono: il dettaglio del traffico di tutte le linee, le fatture, il credito residuo delle linee ricaricabili e le caratteristiche delle SIM.

L'app si scarica gratuitamente dagli store ufficiali del tuo telefono.

I dati sono gli stessi del portale, dove puoi anche scaricare il rapporto dettagliato del traffico degli ultimi 90 giorni e fare le pratiche, come la copia di una fattura o il cambio del metodo di pagamento.""",
        "body_en": """\
With the Business app you keep an eye on your company's lines from your phone too: the traffic details of every line, invoices, the residual credit of prepaid lines and the SIMs' features.

The app is a free download from your phone's official app stores.

The data are the same as in the portal, where you can also download the detailed traffic report of the last 90 days and make requests, such as a copy of an invoice or a change of payment method.""",
    },
)
